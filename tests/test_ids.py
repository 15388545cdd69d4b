"""Opaque public identifiers."""

import pytest

from portal.ids import looks_like, new_public_id


def test_ids_are_prefixed_random_and_long_enough() -> None:
    ids = {new_public_id("md") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("md_") and len(i) == 25 and looks_like(i, "md") for i in ids)


def test_unknown_prefix_is_refused() -> None:
    with pytest.raises(ValueError):
        new_public_id("row")


@pytest.mark.parametrize("value", ["md_", "inv_abcdefghijkl", "md_abc", "md_../../etc/passwd", "42"])
def test_looks_like_rejects_garbage(value: str) -> None:
    assert not looks_like(value, "md")

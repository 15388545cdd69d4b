"""Signed invitation tokens."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from portal.mandates.links import LinkInvalid, make_invitation_token, read_invitation_token

EXPIRY = datetime(2030, 1, 1, tzinfo=UTC)


def test_token_round_trips_and_carries_nothing_personal() -> None:
    token = make_invitation_token("inv_abc", EXPIRY, "k1")
    assert read_invitation_token(token, "k1") == ("inv_abc", EXPIRY)
    assert "@" not in token


def test_old_key_in_fallbacks_still_verifies() -> None:
    token = make_invitation_token("inv_abc", EXPIRY, "old")
    assert read_invitation_token(token, "new", ["old"])[0] == "inv_abc"
    with pytest.raises(LinkInvalid):
        read_invitation_token(token, "new")


@pytest.mark.parametrize("mangle", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
                                    lambda t: t[:10], lambda t: "x" + t, lambda t: ""])
def test_tampered_token_is_invalid(mangle) -> None:
    token = make_invitation_token("inv_abc", EXPIRY, "k1")
    with pytest.raises(LinkInvalid):
        read_invitation_token(mangle(token), "k1")


@pytest.mark.parametrize("seed", range(20))
def test_only_the_canonical_spelling_of_a_token_is_accepted(seed: int) -> None:
    token = make_invitation_token(f"inv_{seed:022d}", EXPIRY, "k1")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])
    other = token[:-1] + alphabet[last ^ 1]  # differs only in a padding bit of the last char
    assert base64.urlsafe_b64decode(other.rpartition(".")[2] + "=") == \
        base64.urlsafe_b64decode(token.rpartition(".")[2] + "=")
    assert read_invitation_token(token, "k1")[0] == f"inv_{seed:022d}"
    with pytest.raises(LinkInvalid):
        read_invitation_token(other, "k1")


def test_a_remembered_token_is_refused_once_its_key_is_retired() -> None:
    """Verified tokens are remembered per set of keys: dropping the key a token was made with
    refuses it, even though it verified (and was remembered) before."""
    token = make_invitation_token("inv_retired", EXPIRY, "old-key")
    assert read_invitation_token(token, "new-key", ["old-key"])[0] == "inv_retired"
    assert read_invitation_token(token, "new-key", ["old-key"])[0] == "inv_retired"
    with pytest.raises(LinkInvalid):
        read_invitation_token(token, "new-key", [])


def test_a_tampered_copy_of_a_remembered_token_is_still_refused() -> None:
    token = make_invitation_token("inv_remembered", EXPIRY, "k1")
    assert read_invitation_token(token, "k1")[0] == "inv_remembered"
    payload, _, signature = token.rpartition(".")
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    for _ in range(2):
        with pytest.raises(LinkInvalid):
            read_invitation_token(forged, "k1")


def test_a_token_remembered_under_one_salt_is_refused_under_another() -> None:
    """The salt is part of what is remembered: a console invitation's token, once verified
    with its own salt, still does not read as a signing link (the default salt)."""
    token = make_invitation_token("inv_salted", EXPIRY, "k1", salt="other-kind.v1")
    assert read_invitation_token(token, "k1", salt="other-kind.v1")[0] == "inv_salted"
    with pytest.raises(LinkInvalid):
        read_invitation_token(token, "k1")

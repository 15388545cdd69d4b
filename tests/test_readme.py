"""The README shows commands a new user can paste: the portal's own ``flask`` (in ``.venv/bin/``
or the installation's venv), never a bare ``flask`` that may be another install."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_flask_command_names_the_portals_own_flask() -> None:
    bare = [line for line in README.read_text().splitlines()
            if re.search(r"(?<![/\w.-])flask --app", line)]
    assert bare == []


def test_staff_create_documents_password_stdin_and_the_password_rule() -> None:
    from portal.console.service import MIN_PASSWORD_LENGTH

    text = README.read_text()
    assert "staff create" in text and "--password-stdin" in text
    assert f"at least {MIN_PASSWORD_LENGTH} characters" in text

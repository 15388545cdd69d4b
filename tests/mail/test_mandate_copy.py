"""The customer's copy of their mandate reads well in every language: a legal name ending in a
full stop ("B.V.") is never followed by a second one."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal.clock import utcnow
from portal.mail.messages import MailSettings, mandate_copy_message
from tests.factories import make_invitation, make_merchant


@pytest.mark.parametrize("locale", ["en", "nl", "de", "fr"])
def test_the_copy_never_doubles_the_full_stop_of_a_legal_name(
        app: Flask, session: Session, locale: str) -> None:
    merchant = make_merchant(session, legal_name="Demo Sportclub B.V.")
    mandate = make_invitation(session, merchant, locale=locale).mandate
    mandate.debtor_name = "Sam de Vries"
    with app.app_context():
        message = mandate_copy_message(mandate, b"%PDF-1.7", now=utcnow(),
                                       settings=MailSettings.from_config(app.config))
    for part in ("plain", "html"):
        body = message.get_body((part,)).get_content()
        assert "Demo Sportclub B.V." in body, part
        assert not re.search(r"\.\s*\.", body.replace("...", "")), (part, body)

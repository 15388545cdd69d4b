"""Inviting customers and recording their bank account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.events.models import Event
from portal.mandates.models import MandateStatus
from portal.mandates.service import debtor_iban, find_mandates_by_iban, set_debtor_account
from portal.sepa import IbanError, validate_mandate_reference
from tests.factories import make_invitation, make_merchant


def test_invitation_creates_an_invited_mandate_with_a_valid_reference(session: Session) -> None:
    now = datetime(2026, 1, 5, 12, tzinfo=UTC)
    from portal.mandates.service import InvitationRequest, invite_customer

    merchant = make_merchant(session)
    invitation = invite_customer(session, merchant,
                                 InvitationRequest(customer_name="Ann", locale="nl"), now=now)
    session.commit()
    mandate = invitation.mandate
    assert mandate.status == MandateStatus.INVITED
    assert validate_mandate_reference(mandate.reference) == mandate.reference
    assert invitation.expires_at == now + timedelta(days=14)
    assert session.scalar(select(Event.type).where(Event.subject == mandate.public_id)) == \
        "mandate.created"


def test_references_are_unique_per_merchant(session: Session) -> None:
    merchant = make_merchant(session)
    refs = {make_invitation(session, merchant).mandate.reference for _ in range(30)}
    assert len(refs) == 30


def test_iban_is_encrypted_at_rest_and_searchable(session: Session) -> None:
    invitation = make_invitation(session)
    mandate = invitation.mandate
    set_debtor_account(session, mandate, "nl91 abna 0417 1643 00", None)
    session.commit()
    assert "0417164300" not in (mandate.iban_ciphertext or "")
    assert mandate.iban_masked.startswith("NL91") and mandate.iban_masked.endswith("00")
    assert mandate.bic == "ABNANL2A"
    assert debtor_iban(session, mandate) == "NL91ABNA0417164300"
    assert find_mandates_by_iban(session, mandate.merchant, "NL91ABNA0417164300") == [mandate]
    other = make_merchant(session)
    assert find_mandates_by_iban(session, other, "NL91ABNA0417164300") == []


def test_invalid_iban_is_refused(session: Session) -> None:
    mandate = make_invitation(session).mandate
    with pytest.raises(IbanError):
        set_debtor_account(session, mandate, "NL92ABNA0417164300", None)
    assert mandate.iban_ciphertext is None


def test_a_b2b_invitation_is_refused_before_anything_is_written(session: Session) -> None:
    from portal.mandates.models import Scheme, SigningMethod
    from portal.mandates.service import InvitationRequest, invite_customer
    from portal.mandates.signing_methods import SchemeNotOffered, SigningMethodError

    merchant = make_merchant(session)
    session.commit()
    now = datetime(2026, 1, 5, 12, tzinfo=UTC)
    bank_only = InvitationRequest(customer_name="Bakkerij B.V.", scheme=Scheme.B2B,
                                  signing_methods=(SigningMethod.BANK_EMANDATE,))
    with pytest.raises(SchemeNotOffered, match="debtor's bank"):  # no bank signing here
        invite_customer(session, merchant, bank_only, now=now)
    with pytest.raises(SigningMethodError, match="payment_verification"):  # a cent never signs B2B
        invite_customer(session, merchant, InvitationRequest(
            customer_name="Bakkerij B.V.", scheme=Scheme.B2B), now=now, bank_available=True)
    assert not session.new and not session.dirty
    invitation = invite_customer(session, merchant, bank_only, now=now, bank_available=True)
    assert invitation.signing_methods == ["bank_emandate"]


def test_a_b2b_mandate_is_never_verified_by_a_payment(journey) -> None:
    from portal.mandates.models import Scheme
    from portal.mandates.signing_methods import SigningMethodError
    from portal.verification.service import start_verification

    mandate = journey.mandate()
    mandate.scheme = Scheme.B2B  # e.g. made before B2B invitations were refused
    journey.session.commit()
    with pytest.raises(SigningMethodError):
        start_verification(journey.session, mandate, object(), return_url="x",  # type: ignore[arg-type]
                           webhook_url=None, now=datetime(2026, 1, 5, 12, tzinfo=UTC))
    page = journey.open()
    assert page.status_code == 410 and b'data-reason="closed"' in page.data

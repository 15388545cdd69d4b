"""Model factories: valid objects with overridable fields."""

from __future__ import annotations

import itertools
from dataclasses import replace

from sqlalchemy.orm import Session

from portal.clock import now as clock_now
from portal.mandates.models import Invitation
from portal.mandates.service import InvitationRequest, invite_customer
from portal.merchants.models import Merchant
from portal.merchants.service import MerchantDetails, create_merchant
from portal.sepa import make_creditor_id

_numbers = itertools.count(1)


def merchant_details(**overrides: object) -> MerchantDetails:
    number = next(_numbers)
    details = MerchantDetails(
        legal_name=f"Merchant {number} B.V.",
        address_line="Keizersgracht 1",
        postal_code="1015 CJ",
        city="Amsterdam",
        country="NL",
        creditor_id=make_creditor_id("NL", f"{number:08d}0000"),
        display_name=f"Merchant {number}",
        primary_colour="#0b6e4f",
        locale="nl",
    )
    return replace(details, **overrides)


def make_merchant(session: Session, **overrides: object) -> Merchant:
    merchant = create_merchant(session, merchant_details(**overrides))
    session.flush()
    return merchant


def make_invitation(session: Session, merchant: Merchant | None = None,
                    **overrides: object) -> Invitation:
    merchant = merchant or make_merchant(session)
    request = replace(InvitationRequest(customer_name="Sam de Vries",
                                        customer_email="sam@example.org", locale="en"),
                      **overrides)
    # The tests' portal signs at the bank too (its adapters have the sandbox bank).
    return invite_customer(session, merchant, request, now=clock_now(), bank_available=True)

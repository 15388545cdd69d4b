"""What the console calls each status, in words people use, translated (the merchant's staff may
read Dutch, German or French); the stored values stay what the API and webhooks say."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from portal.mandates.models import MandateStatus

S = MandateStatus

STATUS_LABELS = {
    S.INVITED: _l("Invited, not signed yet"),
    S.AWAITING_VERIFICATION: _l("Signed, account check pending"),
    S.ACTIVE: _l("Active"),
    S.REVOKED: _l("Revoked"),
    S.CANCELLED: _l("Withdrawn before it was active"),
    S.EXPIRED: _l("Expired"),
    S.FAILED: _l("Account check failed"),
}

#: What a mandate waiting for a signature or a confirmation really is once its attempt was
#: given up: the status alone would say "waiting" forever.
ABANDONED_LABELS = {
    "payment_failed": _l("Not signed: the verification payment failed"),
    "payment_canceled": _l("Not signed: the customer cancelled the verification payment"),
    "payment_expired": _l("Not signed: the verification payment expired unpaid"),
    "invitation_expired": _l("Not signed: the invitation expired"),
    "invitation_withdrawn": _l("Not signed: the invitation was withdrawn"),
    "bank_ended": _l("Not signed: the attempt at the bank ended without a signature"),
}

PAYMENT_LABELS = {
    "open": _l("Started, not paid"),
    "pending": _l("Pending at the provider"),
    "paid": _l("Paid"),
    "failed": _l("Failed"),
    "canceled": _l("Cancelled by the customer"),
    "expired": _l("Expired unpaid"),
}

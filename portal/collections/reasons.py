"""ISO 20022 / EPC reason codes of rejected and returned collections, and what each one means
for the portal: retry later, or never (and what else to do)."""

from __future__ import annotations

import enum

#: The codes banks use for SEPA Direct Debit R-transactions, with a short English text.
REASON_TEXTS: dict[str, str] = {
    "AC01": "Account identifier incorrect",
    "AC04": "Account closed",
    "AC06": "Account blocked",
    "AC13": "Debtor account is a consumer account",
    "AG01": "Direct debit forbidden on this account",
    "AG02": "Invalid bank operation code",
    "AM04": "Insufficient funds",
    "AM05": "Duplicate collection",
    "BE05": "Creditor identifier unknown",
    "CNOR": "Creditor bank is not registered",
    "DNOR": "Debtor bank is not registered",
    "FF01": "Invalid file format",
    "MD01": "No valid mandate",
    "MD02": "Mandate data missing or incorrect",
    "MD06": "Refund requested by the debtor",
    "MD07": "Debtor deceased",
    "MS02": "Refused by the debtor",
    "MS03": "Reason not specified",
    "RC01": "Bank identifier incorrect",
    "RR01": "Debtor account or identification missing (regulatory)",
    "RR02": "Debtor name or address missing (regulatory)",
    "RR03": "Creditor name or address missing (regulatory)",
    "RR04": "Regulatory reason",
    "SL01": "Specific service offered by the debtor bank",
}

#: Temporary reasons: the next attempt may well succeed (eCurring and Adyen retry only these).
TEMPORARY = frozenset({"AM04", "MS03"})


class Consequence(enum.StrEnum):
    """What a failure does beyond failing this attempt."""

    RETRY = "retry"
    #: The account is closed: the mandate is unusable; the debtor may sign again (AC04).
    MANDATE_UNUSABLE = "mandate_unusable"
    #: There is no mandate as far as the debtor's bank knows: revoke it (MD01).
    REVOKE_MANDATE = "revoke_mandate"
    #: The debtor took the money back: record the refund (MD06).
    REFUND = "refund"
    #: The debtor's bank blocks this creditor: flag the customer (SL01).
    FLAG_CUSTOMER = "flag_customer"
    #: Permanent, nothing else to do (wrong account, duplicate, deceased, …).
    NONE = "none"


_PERMANENT: dict[str, Consequence] = {
    "AC04": Consequence.MANDATE_UNUSABLE,
    "MD01": Consequence.REVOKE_MANDATE,
    "MD06": Consequence.REFUND,
    "SL01": Consequence.FLAG_CUSTOMER,
}


def consequence(code: str | None) -> Consequence:
    if code in TEMPORARY:
        return Consequence.RETRY
    return _PERMANENT.get(code or "", Consequence.NONE)


def reason_text(code: str | None, given: str | None = None) -> str | None:
    """The bank's own words when it gave some, else the standard text of the code."""
    if given and given.strip():
        return " ".join(given.split())[:300]
    return REASON_TEXTS.get(code or "")

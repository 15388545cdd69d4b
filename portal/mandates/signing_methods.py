"""Which ways of signing an invitation offers: one rule for the API, the merchant's default and
the signing page. The one-cent payment proves a Core account only; B2B needs the bank."""

from __future__ import annotations

from collections.abc import Sequence

from portal.mandates.models import SCHEME_METHODS, Scheme, SigningMethod

#: What a merchant offers unless it chose otherwise.
DEFAULT_METHODS = (SigningMethod.PAYMENT_VERIFICATION,)


class SigningMethodError(ValueError):
    """The requested methods cannot sign a mandate of this scheme here; the message says why."""


def signing_methods_for(scheme: Scheme, requested: Sequence[str] | None,
                        merchant_default: Sequence[str] | None, *,
                        bank_available: bool) -> tuple[SigningMethod, ...]:
    """The methods, in the order offered: those requested (each must suit the scheme), else
    the merchant's default that suits it, else what the scheme allows first."""
    allowed = tuple(m for m in SCHEME_METHODS[scheme]
                    if bank_available or m is not SigningMethod.BANK_EMANDATE)
    if requested is not None:
        methods = tuple(dict.fromkeys(SigningMethod(m) for m in requested))
        if not methods:
            raise SigningMethodError("Give at least one signing method.")
        refused = [m.value for m in methods if m not in allowed]
        if refused:
            raise SigningMethodError(_why(scheme, refused, bank_available))
        return methods
    default = tuple(m for m in (SigningMethod(m) for m in merchant_default or DEFAULT_METHODS)
                    if m in allowed)
    if default:
        return default
    if not allowed:
        raise SigningMethodError(_why(scheme, [SigningMethod.BANK_EMANDATE.value],
                                      bank_available))
    return allowed[:1]


def _why(scheme: Scheme, refused: list[str], bank_available: bool) -> str:
    if SigningMethod.BANK_EMANDATE.value in refused and not bank_available:
        if scheme == Scheme.B2B:
            return ("A B2B mandate is valid only once the debtor's bank registered it, and "
                    "bank signing (eMandates) is not configured on this portal.")
        return "Bank signing (eMandates) is not configured on this portal."
    return (f"A {scheme.value} mandate cannot be signed with {', '.join(refused)}: a B2B "
            "mandate is signed only at the debtor's bank (bank_emandate).")

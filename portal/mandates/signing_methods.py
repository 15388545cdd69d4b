"""Which ways of signing an invitation offers: one rule for the API, the merchant's default,
the service's backstop and the signing page. The one-cent payment proves a Core account only;
B2B is valid only once the debtor's bank registered it (eMandates)."""

from __future__ import annotations

from collections.abc import Sequence

from portal.mandates.models import SCHEME_METHODS, Scheme, SigningMethod

#: What a merchant offers unless it chose otherwise.
DEFAULT_METHODS = (SigningMethod.PAYMENT_VERIFICATION,)


class SigningMethodError(ValueError):
    """The requested methods cannot sign a mandate of this scheme here; the message says why."""


class SchemeNotOffered(SigningMethodError):
    """No signing method of this portal can make a mandate of this scheme valid: B2B while bank
    signing (eMandates) is not configured."""

    def __init__(self, scheme: Scheme) -> None:
        super().__init__(
            f"{scheme.value} mandates may only be confirmed by the debtor's bank, and bank "
            "signing (eMandates) is not configured on this portal; a one-cent payment cannot "
            "sign them. Use scheme CORE, or configure PORTAL_BANK.")
        self.scheme = scheme


def allowed_methods(scheme: Scheme, *, bank_available: bool) -> tuple[SigningMethod, ...]:
    """The methods that can sign a mandate of ``scheme`` on this portal, in the order offered."""
    return tuple(m for m in SCHEME_METHODS[scheme]
                 if bank_available or m is not SigningMethod.BANK_EMANDATE)


def signing_methods_for(scheme: Scheme, requested: Sequence[str] | None,
                        merchant_default: Sequence[str] | None, *,
                        bank_available: bool) -> tuple[SigningMethod, ...]:
    """The methods, in the order offered: those requested (each must suit the scheme), else
    the merchant's default that suits it, else what the scheme allows first. SchemeNotOffered
    when nothing here can sign the scheme, SigningMethodError for a method that cannot."""
    if requested is not None:
        methods = tuple(dict.fromkeys(SigningMethod(m) for m in requested))
        check_signing_methods(scheme, methods, bank_available=bank_available)
        return methods
    allowed = allowed_methods(scheme, bank_available=bank_available)
    if not allowed:
        raise SchemeNotOffered(scheme)
    default = tuple(m for m in (SigningMethod(m) for m in merchant_default or DEFAULT_METHODS)
                    if m in allowed)
    return default or allowed[:1]


def check_signing_methods(scheme: Scheme, methods: Sequence[SigningMethod], *,
                          bank_available: bool) -> None:
    """Refuse methods that cannot sign ``scheme`` here (B2B with the one-cent payment; the bank
    while bank signing is off); SchemeNotOffered when none could."""
    allowed = allowed_methods(scheme, bank_available=bank_available)
    if not allowed:
        raise SchemeNotOffered(scheme)
    if not methods:
        raise SigningMethodError("Give at least one signing method.")
    refused = [m.value for m in methods if m not in allowed]
    if refused:
        raise SigningMethodError(_why(scheme, refused, bank_available))


def _why(scheme: Scheme, refused: list[str], bank_available: bool) -> str:
    if SigningMethod.BANK_EMANDATE.value in refused and not bank_available:
        return "Bank signing (eMandates) is not configured on this portal."
    return (f"A {scheme.value} mandate cannot be signed with {', '.join(refused)}: a B2B "
            "mandate is valid only once the debtor's bank registered it, so it is signed only "
            "at the debtor's bank (bank_emandate).")

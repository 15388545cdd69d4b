"""The invoice as a PDF in the customer's language: the merchant, the customer, number and
dates, the lines with VAT per rate and the totals, and how it is paid (the direct debit on the
mandate, or the checkout link). Drawn by WeasyPrint from a template, offline (nothing fetched)."""

from __future__ import annotations

from flask import render_template
from flask_babel import force_locale
from weasyprint import HTML

from portal.invoices.models import Invoice
from signing.render import AssetsOnlyFetcher


def euro_amount(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}€ {whole:,}.{rest:02d}".replace(",", "\u202f")


def invoice_html(invoice: Invoice, checkout_link: str | None) -> str:
    """The invoice's page (autoescaped), in the customer's language."""
    by_rate: dict[str, tuple[int, int]] = {}  # rate → (net, VAT), as the lines say
    for item in invoice.lines:
        net, vat = by_rate.get(item.vat_rate, (0, 0))
        by_rate[item.vat_rate] = (net + item.net_cents, vat + item.vat_cents)
    with force_locale(invoice.customer.locale):
        return render_template("invoices/invoice.html", invoice=invoice,
                               merchant=invoice.merchant, customer=invoice.customer,
                               by_rate=sorted(by_rate.items()), euro=euro_amount,
                               checkout_link=checkout_link)


def invoice_pdf(invoice: Invoice, checkout_link: str | None) -> bytes:
    return HTML(string=invoice_html(invoice, checkout_link),
                url_fetcher=AssetsOnlyFetcher()).write_pdf()

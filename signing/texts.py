"""Versioned legal mandate texts and PDF labels, shared by the signing page and the PDF.

Bump MANDATE_TEXT_VERSION whenever a word of any legal text changes: the version is
recorded in the evidence, so it must always identify the exact text a debtor saw.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

MANDATE_TEXT_VERSION = "2026-11-1"
DEFAULT_LOCALE = "en"
LOCALES = ("nl", "en", "de", "fr")

# Paragraphs are joined with a blank line; {creditor} is the creditor's name.
_MANDATE_TEXTS: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "CORE": (
            (
                "By signing this mandate form, you authorise (A) {creditor} to send "
                "instructions to your bank to debit your account and (B) your bank to debit "
                "your account in accordance with the instructions from {creditor}."
            ),
            (
                "As part of your rights, you are entitled to a refund from your bank under "
                "the terms and conditions of your agreement with your bank. A refund must be "
                "claimed within 8 weeks starting from the date on which your account was "
                "debited."
            ),
            "Your rights are explained in a statement that you can obtain from your bank.",
        ),
        "B2B": (
            (
                "By signing this mandate form, you authorise (A) {creditor} to send "
                "instructions to your bank to debit your account and (B) your bank to debit "
                "your account in accordance with the instructions from {creditor}."
            ),
            (
                "This mandate is only intended for business-to-business transactions. You are "
                "not entitled to a refund from your bank after your account has been debited, "
                "but you are entitled to request your bank not to debit your account up until "
                "the day on which the payment is due. Please contact your bank for detailed "
                "procedures in such a case."
            ),
            (
                "By signing, you declare that you are not a consumer but act in the course of "
                "your business or profession. You must inform your bank of this mandate "
                "before the first debit; your bank may ask you to confirm it."
            ),
        ),
    },
    "nl": {
        "CORE": (
            (
                "Door ondertekening van dit formulier geeft u toestemming aan {creditor} om "
                "incasso-opdrachten te sturen naar uw bank om een bedrag van uw rekening af "
                "te schrijven en aan uw bank om een bedrag van uw rekening af te schrijven "
                "overeenkomstig de opdracht van {creditor}."
            ),
            (
                "Als u het niet eens bent met een afschrijving kunt u deze laten terugboeken. "
                "Neem hiervoor binnen 8 weken na afschrijving contact op met uw bank. Vraag "
                "uw bank naar de voorwaarden."
            ),
        ),
        "B2B": (
            (
                "Door ondertekening van dit formulier geeft u toestemming aan {creditor} om "
                "incasso-opdrachten te sturen naar uw bank om een bedrag van uw rekening af "
                "te schrijven en aan uw bank om een bedrag van uw rekening af te schrijven "
                "overeenkomstig de opdracht van {creditor}."
            ),
            (
                "Deze machtiging is uitsluitend bedoeld voor transacties tussen bedrijven. U "
                "heeft geen recht op terugboeking van een afschrijving nadat uw rekening is "
                "gedebiteerd, maar u kunt uw bank vragen uw rekening niet te debiteren tot de "
                "dag waarop de betaling verschuldigd is. Neem voor de procedure contact op met "
                "uw bank."
            ),
            (
                "Door ondertekening verklaart u dat u geen consument bent, maar handelt in de "
                "uitoefening van uw bedrijf of beroep. U bent verplicht uw bank over deze "
                "machtiging te informeren vóór de eerste afschrijving; uw bank kan u vragen "
                "de machtiging te bevestigen."
            ),
        ),
    },
    "de": {
        "CORE": (
            (
                "Ich ermächtige / Wir ermächtigen {creditor}, Zahlungen von meinem / unserem "
                "Konto mittels Lastschrift einzuziehen. Zugleich weise ich mein / weisen wir "
                "unser Kreditinstitut an, die von {creditor} auf mein / unser Konto gezogenen "
                "Lastschriften einzulösen."
            ),
            (
                "Hinweis: Ich kann / Wir können innerhalb von acht Wochen, beginnend mit dem "
                "Belastungsdatum, die Erstattung des belasteten Betrages verlangen. Es gelten "
                "dabei die mit meinem / unserem Kreditinstitut vereinbarten Bedingungen."
            ),
        ),
        "B2B": (
            (
                "Ich ermächtige / Wir ermächtigen {creditor}, Zahlungen von meinem / unserem "
                "Konto mittels Lastschrift einzuziehen. Zugleich weise ich mein / weisen wir "
                "unser Kreditinstitut an, die von {creditor} auf mein / unser Konto gezogenen "
                "Lastschriften einzulösen."
            ),
            (
                "Hinweis: Dieses Lastschriftmandat dient nur dem Einzug von Lastschriften, die "
                "auf Konten von Unternehmen gezogen sind. Ich bin / Wir sind nicht berechtigt, "
                "nach der erfolgten Einlösung eine Erstattung des belasteten Betrages zu "
                "verlangen. Ich bin / Wir sind berechtigt, mein / unser Kreditinstitut bis zum "
                "Fälligkeitstag anzuweisen, Lastschriften nicht einzulösen."
            ),
            (
                "Mit der Unterschrift erkläre ich / erklären wir, kein Verbraucher zu sein, "
                "sondern in Ausübung einer gewerblichen oder selbständigen beruflichen "
                "Tätigkeit zu handeln. Ich bin / Wir sind verpflichtet, mein / unser "
                "Kreditinstitut vor der ersten Belastung über dieses Mandat zu informieren."
            ),
        ),
    },
    "fr": {
        "CORE": (
            (
                "En signant ce formulaire de mandat, vous autorisez (A) {creditor} à envoyer "
                "des instructions à votre banque pour débiter votre compte, et (B) votre "
                "banque à débiter votre compte conformément aux instructions de {creditor}."
            ),
            (
                "Vous bénéficiez du droit d’être remboursé par votre banque selon les "
                "conditions décrites dans la convention que vous avez passée avec elle. Une "
                "demande de remboursement doit être présentée dans les 8 semaines suivant la "
                "date de débit de votre compte."
            ),
            (
                "Vos droits concernant le présent mandat sont expliqués dans un document que "
                "vous pouvez obtenir auprès de votre banque."
            ),
        ),
        "B2B": (
            (
                "En signant ce formulaire de mandat, vous autorisez (A) {creditor} à envoyer "
                "des instructions à votre banque pour débiter votre compte, et (B) votre "
                "banque à débiter votre compte conformément aux instructions de {creditor}."
            ),
            (
                "Ce mandat est destiné uniquement aux transactions interentreprises. Vous "
                "n’avez pas droit au remboursement par votre banque une fois votre compte "
                "débité, mais vous pouvez demander à votre banque de ne pas débiter votre "
                "compte jusqu’au jour où le paiement est exigible. Veuillez contacter votre "
                "banque pour connaître la procédure détaillée."
            ),
            (
                "En signant, vous déclarez ne pas être un consommateur mais agir dans le cadre "
                "de votre activité professionnelle. Vous devez informer votre banque de ce "
                "mandat avant le premier prélèvement ; elle peut vous demander de le "
                "confirmer."
            ),
        ),
    },
}

_TITLES: dict[str, dict[tuple[str, str], str]] = {
    "en": {
        ("CORE", "recurrent"): "SEPA Direct Debit Mandate",
        ("CORE", "one_off"): "SEPA Direct Debit Mandate",
        ("B2B", "recurrent"): "SEPA Business-to-Business Direct Debit Mandate",
        ("B2B", "one_off"): "SEPA Business-to-Business Direct Debit Mandate",
    },
    "nl": {
        ("CORE", "recurrent"): "Doorlopende machtiging SEPA",
        ("CORE", "one_off"): "Eenmalige machtiging SEPA",
        ("B2B", "recurrent"): "Doorlopende machtiging SEPA Bedrijvenincasso",
        ("B2B", "one_off"): "Eenmalige machtiging SEPA Bedrijvenincasso",
    },
    "de": {
        ("CORE", "recurrent"): "SEPA-Lastschriftmandat",
        ("CORE", "one_off"): "SEPA-Lastschriftmandat",
        ("B2B", "recurrent"): "SEPA-Firmenlastschrift-Mandat",
        ("B2B", "one_off"): "SEPA-Firmenlastschrift-Mandat",
    },
    "fr": {
        ("CORE", "recurrent"): "Mandat de prélèvement SEPA",
        ("CORE", "one_off"): "Mandat de prélèvement SEPA",
        ("B2B", "recurrent"): "Mandat de prélèvement SEPA interentreprises",
        ("B2B", "one_off"): "Mandat de prélèvement SEPA interentreprises",
    },
}

_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "mandate_reference": "Mandate reference",
        "creditor": "Creditor",
        "debtor": "Debtor (account holder)",
        "name": "Name",
        "address": "Address",
        "creditor_id": "Creditor identifier",
        "iban": "IBAN",
        "bic": "BIC",
        "scheme": "Scheme",
        "scheme_CORE": "SEPA Core Direct Debit",
        "scheme_B2B": "SEPA Business-to-Business Direct Debit",
        "payment_type": "Type of payment",
        "sequence_recurrent": "Recurrent payment",
        "sequence_one_off": "One-off payment",
        "authorisation": "Authorisation",
        "signature": "Signature",
        "signed_on": "Date of signing",
        "place": "Place of signing",
        "signing_method": "Signing method",
        "method_payment_verification": "Electronic signature, verified by an iDEAL payment from the account holder",
        "method_bank_emandate": "Electronic signature through the debtor’s bank (eMandate)",
        "text_version": "Text version",
        "page": "Page",
        "of": "of",
        "seal_notice": "This document is electronically sealed. The embedded seal and evidence file prove its integrity.",
        "not_provided": "—",
    },
    "nl": {
        "mandate_reference": "Machtigingskenmerk",
        "creditor": "Incassant",
        "debtor": "Geïncasseerde (rekeninghouder)",
        "name": "Naam",
        "address": "Adres",
        "creditor_id": "Incassant ID",
        "iban": "IBAN",
        "bic": "BIC",
        "scheme": "Incassosoort",
        "scheme_CORE": "SEPA Incasso (Core)",
        "scheme_B2B": "SEPA Bedrijvenincasso (B2B)",
        "payment_type": "Soort betaling",
        "sequence_recurrent": "Doorlopende betaling",
        "sequence_one_off": "Eenmalige betaling",
        "authorisation": "Machtiging",
        "signature": "Ondertekening",
        "signed_on": "Datum van ondertekening",
        "place": "Plaats van ondertekening",
        "signing_method": "Wijze van ondertekening",
        "method_payment_verification": "Elektronisch ondertekend, geverifieerd met een iDEAL-betaling van de rekeninghouder",
        "method_bank_emandate": "Elektronisch ondertekend via de bank van de geïncasseerde (eMachtiging)",
        "text_version": "Tekstversie",
        "page": "Pagina",
        "of": "van",
        "seal_notice": "Dit document is elektronisch verzegeld. Het ingebedde zegel en bewijsbestand tonen de integriteit aan.",
        "not_provided": "—",
    },
    "de": {
        "mandate_reference": "Mandatsreferenz",
        "creditor": "Zahlungsempfänger",
        "debtor": "Zahlungspflichtiger (Kontoinhaber)",
        "name": "Name",
        "address": "Anschrift",
        "creditor_id": "Gläubiger-Identifikationsnummer",
        "iban": "IBAN",
        "bic": "BIC",
        "scheme": "Verfahren",
        "scheme_CORE": "SEPA-Basislastschrift",
        "scheme_B2B": "SEPA-Firmenlastschrift",
        "payment_type": "Zahlungsart",
        "sequence_recurrent": "Wiederkehrende Zahlung",
        "sequence_one_off": "Einmalige Zahlung",
        "authorisation": "Ermächtigung",
        "signature": "Unterschrift",
        "signed_on": "Datum der Unterschrift",
        "place": "Ort der Unterschrift",
        "signing_method": "Art der Unterschrift",
        "method_payment_verification": "Elektronisch unterschrieben, bestätigt durch eine iDEAL-Zahlung des Kontoinhabers",
        "method_bank_emandate": "Elektronisch unterschrieben über die Bank des Zahlungspflichtigen (eMandat)",
        "text_version": "Textversion",
        "page": "Seite",
        "of": "von",
        "seal_notice": "Dieses Dokument ist elektronisch versiegelt. Siegel und eingebettete Nachweisdatei belegen seine Unversehrtheit.",
        "not_provided": "—",
    },
    "fr": {
        "mandate_reference": "Référence unique du mandat",
        "creditor": "Créancier",
        "debtor": "Débiteur (titulaire du compte)",
        "name": "Nom",
        "address": "Adresse",
        "creditor_id": "Identifiant créancier SEPA",
        "iban": "IBAN",
        "bic": "BIC",
        "scheme": "Type de prélèvement",
        "scheme_CORE": "Prélèvement SEPA Core",
        "scheme_B2B": "Prélèvement SEPA interentreprises (B2B)",
        "payment_type": "Type de paiement",
        "sequence_recurrent": "Paiement récurrent",
        "sequence_one_off": "Paiement ponctuel",
        "authorisation": "Autorisation",
        "signature": "Signature",
        "signed_on": "Date de signature",
        "place": "Lieu de signature",
        "signing_method": "Mode de signature",
        "method_payment_verification": "Signature électronique, vérifiée par un paiement iDEAL du titulaire du compte",
        "method_bank_emandate": "Signature électronique via la banque du débiteur (e-mandat)",
        "text_version": "Version du texte",
        "page": "Page",
        "of": "sur",
        "seal_notice": "Ce document est scellé électroniquement. Le sceau et le fichier de preuve intégrés attestent de son intégrité.",
        "not_provided": "—",
    },
}

_DATE_FORMATS = {"en": "%Y-%m-%d", "nl": "%d-%m-%Y", "de": "%d.%m.%Y", "fr": "%d/%m/%Y"}


def resolve_locale(locale: str) -> str:
    """Supported locale for 'nl', 'nl-BE', 'NL_nl', …; English otherwise."""
    language = (locale or "").replace("_", "-").split("-")[0].lower()
    return language if language in LOCALES else DEFAULT_LOCALE


def mandate_text(scheme: str, locale: str, creditor_name: str) -> str:
    """The legal authorisation text, plain paragraphs separated by a blank line."""
    paragraphs = _MANDATE_TEXTS[resolve_locale(locale)][_scheme(scheme)]
    text = "\n\n".join(p.format(creditor=creditor_name) for p in paragraphs)
    # A name ending in a full stop ("Bakkerij B.V.") must not end a sentence with two.
    return re.sub(r"\.\.(?=\s|$)", ".", text)


def mandate_title(scheme: str, sequence: str, locale: str) -> str:
    return _TITLES[resolve_locale(locale)][(_scheme(scheme), sequence)]


def labels(locale: str) -> Mapping[str, str]:
    return _LABELS[resolve_locale(locale)]


def signing_method_label(method: str, locale: str) -> str:
    """A readable description of a known signing method; unknown methods show as given."""
    return labels(locale).get(f"method_{method}", method)


def format_signing_date(moment: datetime, locale: str) -> str:
    """Local date convention plus the UTC time, e.g. '25-11-2026 14:03 UTC'."""
    utc = moment.astimezone(UTC)
    return f"{utc.strftime(_DATE_FORMATS[resolve_locale(locale)])} {utc:%H:%M} UTC"


def _scheme(scheme: str) -> str:
    if scheme not in ("CORE", "B2B"):
        raise ValueError(f"scheme must be 'CORE' or 'B2B', got {scheme!r}")
    return scheme

"""SEPA rules: IBAN, BIC, creditor identifier, mandate reference and text transliteration."""

from __future__ import annotations

import pickle
import re
import string
from collections.abc import Callable
from random import Random

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from schwifty import IBAN

from portal.sepa import (
    BIC_ERROR_MESSAGES,
    CREDITOR_ID_ERROR_MESSAGES,
    IBAN_ERROR_MESSAGES,
    MANDATE_REFERENCE_ALPHABET,
    MANDATE_REFERENCE_ERROR_MESSAGES,
    MANDATE_REFERENCE_MAX_LENGTH,
    SEPA_CHARSET,
    SEPA_COUNTRIES,
    BankAccount,
    BicError,
    CreditorIdError,
    IbanError,
    MandateReferenceError,
    creditor_id_business_code,
    format_iban,
    generate_mandate_reference,
    make_creditor_id,
    mask_iban,
    normalize_iban,
    to_sepa_text,
    validate_bic,
    validate_creditor_id,
    validate_iban,
    validate_mandate_reference,
)

# ---------------------------------------------------------------------------------------------
# IBAN


@pytest.mark.parametrize(
    ("text", "code", "params"),
    [
        pytest.param("", "empty", {}, id="empty"),
        pytest.param(" \u00a0- . ", "empty", {}, id="only-separators"),
        pytest.param("IBAN:", "empty", {}, id="only-prefix"),
        pytest.param("NL91 ABNA 0417 1643 0#", "invalid_characters", {"characters": "'#'"},
                     id="punctuation"),
        pytest.param("NL91/ABNA/0417/1643/00", "invalid_characters", {"characters": "'/'"},
                     id="slashes"),
        pytest.param("DE89 3704 0044 0532 0130 0\u0660", "invalid_characters",
                     {"characters": "'\u0660'"}, id="arabic-indic-digit"),
        pytest.param("DE89 3704 0044 0532 0130 0\uff10", "invalid_characters",
                     {"characters": "'\uff10'"}, id="fullwidth-digit"),
        pytest.param("GB29 NWBK 6016 1331 9268 1\u0131", "invalid_characters",
                     {"characters": "'\u0131'"}, id="dotless-i-does-not-become-I"),
        pytest.param("XX12 3456 7890 1234 56", "unknown_country", {"country": "XX"}, id="XX"),
        pytest.param("US64 SVBK US6S 3300 9673 86", "unknown_country", {"country": "US"},
                     id="US-has-no-iban"),
        pytest.param("1234567890", "unknown_country", {"country": "12"}, id="digits-only"),
        pytest.param("BR18 0036 0305 0000 1000 9795 493C 1", "not_sepa", {"country": "BR"},
                     id="brazil"),
        pytest.param("TR33 0006 1005 1978 6457 8413 26", "not_sepa", {"country": "TR"},
                     id="turkey"),
        pytest.param("SA03 8000 0000 6080 1016 7519", "not_sepa", {"country": "SA"},
                     id="saudi-arabia"),
        pytest.param("TN59 1000 6035 1835 9847 8831", "not_sepa", {"country": "TN"},
                     id="tunisia"),
        # schwifty flags New Caledonia (XPF) as SEPA; the EPC does not.
        pytest.param("NC66 1488 9000 0112 3456 7890 100", "not_sepa", {"country": "NC"},
                     id="new-caledonia"),
        pytest.param("NL91ABNA041716430", "wrong_length",
                     {"country": "NL", "expected": 18, "actual": 17}, id="one-short"),
        pytest.param("DE89 3704 0044 0532 0130 000", "wrong_length",
                     {"country": "DE", "expected": 22, "actual": 23}, id="one-long"),
        pytest.param("NL92ABNA0417164300", "wrong_check_digits", {"country": "NL"},
                     id="check-digits"),
        pytest.param("DE89 3704 0044 0532 0130 01", "wrong_check_digits", {"country": "DE"},
                     id="typo-in-account"),
        pytest.param("DE89 3704 0044 0523 0130 00", "wrong_check_digits", {"country": "DE"},
                     id="swapped-digits"),
        pytest.param("NLAB ABNA 0417 1643 00", "wrong_check_digits", {"country": "NL"},
                     id="letters-as-check-digits"),
        # valid IBAN check digits, but the BBAN is wrong for the country
        pytest.param("GB76 N1BK 6016 1331 9268 19", "invalid_structure", {"country": "GB"},
                     id="gb-digit-in-bank-code"),
        pytest.param("BE41 5390 0754 7035", "invalid_structure", {"country": "BE"},
                     id="belgian-national-checksum"),
        pytest.param("ES29 2100 0418 4602 0005 1332", "invalid_structure", {"country": "ES"},
                     id="spanish-national-checksum"),
        pytest.param("FR84 2004 1010 0505 0001 3M02 607", "invalid_structure", {"country": "FR"},
                     id="french-rib-key"),
    ],
)  # fmt: skip
def test_validate_iban_reports_the_most_specific_error(
    text: str, code: str, params: dict[str, object]
) -> None:
    with pytest.raises(IbanError) as caught:
        validate_iban(text)
    assert caught.value.code == code
    assert caught.value.params == params
    assert str(caught.value) == caught.value.message == IBAN_ERROR_MESSAGES[code].format(**params)


def test_wrong_length_message_names_country_and_both_lengths() -> None:
    with pytest.raises(IbanError) as caught:
        validate_iban("NL91ABNA041716430")
    assert caught.value.message == "NL IBANs have 18 characters; you entered 17."


def test_errors_survive_pickling_with_code_and_params() -> None:
    with pytest.raises(IbanError) as caught:
        validate_iban("NL91ABNA041716430")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (type(copy), copy.code, copy.params, str(copy)) == (
        IbanError,
        "wrong_length",
        {"country": "NL", "expected": 18, "actual": 17},
        "NL IBANs have 18 characters; you entered 17.",
    )


def test_iban_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        validate_iban("nonsense")


@pytest.mark.parametrize(
    ("text", "iban", "country", "bic", "bank_name"),
    [
        ("NL91ABNA0417164300", "NL91ABNA0417164300", "NL", "ABNANL2A", "ABN AMRO BANK N.V."),
        ("DE89370400440532013000", "DE89370400440532013000", "DE", "COBADEFFXXX", "Commerzbank"),
        ("GB29NWBK60161331926819", "GB29NWBK60161331926819", "GB", "NWBKGB2LXXX",
         "NATIONAL WESTMINSTER BANK PUBLIC LIMITED COMPANY"),
        ("ES9121000418450200051332", "ES9121000418450200051332", "ES", "CAIXESBB",
         "CAIXABANK, S.A."),
        ("FR1420041010050500013M02606", "FR1420041010050500013M02606", "FR", "PSSTFRPP",
         "LA BANQUE POSTALE"),
        ("IE29AIBK93115212345678", "IE29AIBK93115212345678", "IE", "AIBKIE2DXXX",
         "Allied Irish Banks, p.l.c."),
        ("BE68539007547034", "BE68539007547034", "BE", None, None),
        ("AT611904300234573201", "AT611904300234573201", "AT", None, None),
        ("CH9300762011623852957", "CH9300762011623852957", "CH", None, None),
        ("GI75NWBK000000007099453", "GI75NWBK000000007099453", "GI", None, None),
        # in SEPA since 2024/2025 although schwifty 2026.10 says otherwise
        ("AL47212110090000000235698741", "AL47212110090000000235698741", "AL", None, None),
        ("ME25505000012345678951", "ME25505000012345678951", "ME", None, None),
        ("MK07250120000058984", "MK07250120000058984", "MK", None, None),
        ("MD24AG000225100013104168", "MD24AG000225100013104168", "MD", "AGRNMD2X",
         "Banca Comercială 'Moldova Agroindbank' S.A."),
    ],
)  # fmt: skip
def test_validate_iban_accepts_sepa_ibans_and_derives_the_bank(
    text: str, iban: str, country: str, bic: str | None, bank_name: str | None
) -> None:
    account = validate_iban(text)
    assert account == BankAccount(
        iban=iban, formatted=format_iban(iban), country=country, bic=bic, bank_name=bank_name
    )


@pytest.mark.parametrize(
    "text",
    [
        "NL91 ABNA 0417 1643 00",
        "nl91abna0417164300",
        "Nl91 aBnA 0417 1643 00",
        "IBAN NL91 ABNA 0417 1643 00",
        "IBAN: NL91ABNA0417164300",
        "iban nl91abna0417164300",
        "NL91\u00a0ABNA\u00a00417\u00a01643\u00a000",  # no-break spaces
        "NL91\u202fABNA\u202f0417\u202f1643\u202f00",  # narrow no-break spaces
        "NL91-ABNA-0417-1643-00",
        "NL91.ABNA.0417.1643.00",
        "  NL91\tABNA\n0417 1643 00  ",
        "NL91\u200bABNA0417164300\ufeff",  # zero-width chars from copy and paste
    ],
)
def test_validate_iban_normalises_pasted_input(text: str) -> None:
    assert normalize_iban(text) == "NL91ABNA0417164300"
    account = validate_iban(text)
    assert account.iban == "NL91ABNA0417164300"
    assert account.formatted == "NL91 ABNA 0417 1643 00"


def test_bank_account_is_frozen() -> None:
    account = validate_iban("NL91ABNA0417164300")
    with pytest.raises(AttributeError):
        account.iban = "DE89370400440532013000"  # type: ignore[misc]


@pytest.mark.parametrize("country", sorted(SEPA_COUNTRIES))
def test_validate_iban_accepts_schwifty_generated_ibans_of_every_sepa_country(
    country: str,
) -> None:
    rng = Random(country)
    for _ in range(10):
        iban = str(IBAN.random(country, random=rng))
        assert validate_iban(iban).iban == iban


def test_sepa_countries_follow_the_epc_list_not_schwifty() -> None:
    assert {"AL", "ME", "MD", "MK", "GB", "CH", "AX", "GI", "GG", "JE", "IM"} <= SEPA_COUNTRIES
    assert {"NC", "PF", "WF", "TF", "RS", "TR", "US"}.isdisjoint(SEPA_COUNTRIES)


_VALID_IBANS = ["NL91ABNA0417164300", "DE89370400440532013000", "BE68539007547034"]


@given(st.text())
@example("IBAN")
@example("ß" * 20)
@example("\u0130BAN NL91ABNA0417164300")
def test_validate_iban_only_ever_raises_iban_error_for_any_text(text: str) -> None:
    try:
        account = validate_iban(text)
    except IbanError as error:
        assert error.code in IBAN_ERROR_MESSAGES
    else:
        assert account.country in SEPA_COUNTRIES


@given(st.text(alphabet=string.ascii_letters + string.digits + " -.", min_size=0, max_size=40))
def test_validate_iban_only_ever_raises_iban_error_for_iban_like_text(text: str) -> None:
    try:
        validate_iban(text)
    except IbanError as error:
        assert error.code in IBAN_ERROR_MESSAGES


@given(
    st.sampled_from(_VALID_IBANS),
    st.integers(min_value=0, max_value=33),
    st.characters(codec="ascii", categories=["Lu", "Nd"]),
)
def test_validate_iban_rejects_any_single_character_typo(
    iban: str, position: int, replacement: str
) -> None:
    position %= len(iban)
    typo = iban[:position] + replacement + iban[position + 1 :]
    if typo == iban:
        return
    with pytest.raises(IbanError):
        validate_iban(typo)


def test_format_iban_groups_in_fours() -> None:
    assert format_iban("de89370400440532013000") == "DE89 3704 0044 0532 0130 00"
    assert format_iban("NL91 ABNA 0417 1643 00") == "NL91 ABNA 0417 1643 00"


@pytest.mark.parametrize(
    ("iban", "masked"),
    [
        ("NL91ABNA0417164300", "NL91 •••• •••• ••43 00"),
        ("DE89 3704 0044 0532 0130 00", "DE89 •••• •••• •••• ••30 00"),
        ("BE68539007547034", "BE68 •••• •••• 7034"),
        ("NO9386011117947", "NO93 •••• •••7 947"),
        ("NL91ABNA", "NL•• ••••"),
        ("IBAN", "IB••"),
        ("IBAN1234", "IB•• ••••"),
        ("", ""),
    ],
)
def test_mask_iban_shows_country_check_digits_and_last_four(iban: str, masked: str) -> None:
    assert mask_iban(iban) == masked


@given(st.text(alphabet=string.ascii_uppercase + string.digits, min_size=0, max_size=34))
@example("IBAN")
def test_mask_iban_never_shows_more_than_the_last_four_account_characters(iban: str) -> None:
    visible = mask_iban(iban).replace(" ", "")
    assert len(visible) == len(iban)
    account = visible[4:]  # after country code and check digits
    assert sum(c != "•" for c in account) <= 4
    assert all(c == "•" for c in account[:-4])
    assert visible[:2] == iban[:2]


# ---------------------------------------------------------------------------------------------
# BIC


@pytest.mark.parametrize(
    ("text", "bic"),
    [
        ("ABNANL2A", "ABNANL2A"),
        ("COBADEFFXXX", "COBADEFFXXX"),
        ("cobadeff xxx", "COBADEFFXXX"),
        (" GENO DE M1 GLS ", "GENODEM1GLS"),
    ],
)
def test_validate_bic_accepts_8_and_11_character_bics(text: str, bic: str) -> None:
    assert validate_bic(text) == bic


@pytest.mark.parametrize(
    ("text", "code", "params"),
    [
        ("", "empty", {}),
        ("ABNANL2", "wrong_length", {"actual": 7}),
        ("COBADEFFXX", "wrong_length", {"actual": 10}),
        ("ABNA1L2A", "invalid_structure", {}),
        ("ABNANL2-", "invalid_structure", {}),
        ("ABNANL2\u00c4", "invalid_structure", {}),
        ("ABNAXX2A", "unknown_country", {"country": "XX"}),
    ],
)
def test_validate_bic_rejects(text: str, code: str, params: dict[str, object]) -> None:
    with pytest.raises(BicError) as caught:
        validate_bic(text)
    assert (caught.value.code, caught.value.params) == (code, params)
    assert caught.value.message == BIC_ERROR_MESSAGES[code].format(**params)


@given(st.text())
def test_validate_bic_only_ever_raises_bic_error(text: str) -> None:
    try:
        validate_bic(text)
    except BicError as error:
        assert error.code in BIC_ERROR_MESSAGES


# ---------------------------------------------------------------------------------------------
# Creditor identifier

# Published examples (Bundesbank, national communities); each one verified by the test below.
_PUBLISHED_CREDITOR_IDS = [
    "DE98ZZZ09999999999",
    "AT61ZZZ01234567890",
    "FR72ZZZ123456",
    "ES59ZZZX1234567L",
    "IT66ZZZA1B2C3D4E5F6G7H8",
    "BE69ZZZ050D000000008",
    "LU27ZZZ0000000000123456789",
]


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        *[(ci, ci) for ci in _PUBLISHED_CREDITOR_IDS],
        ("NL69ZZZ123456780000", "NL69ZZZ123456780000"),
        ("de98 zzz 0999 9999 999", "DE98ZZZ09999999999"),
        # the business code is not part of the checksum
        ("DE98ABC09999999999", "DE98ABC09999999999"),
        ("DE98001 09999999999", "DE9800109999999999"),
    ],
)
def test_validate_creditor_id_accepts(text: str, normalised: str) -> None:
    assert validate_creditor_id(text) == normalised


@pytest.mark.parametrize(
    ("text", "code", "params"),
    [
        ("", "empty", {}),
        ("   ", "empty", {}),
        ("DE98ZZZ", "invalid_format", {}),
        ("D998ZZZ09999999999", "invalid_format", {}),
        ("DEX8ZZZ09999999999", "invalid_format", {}),
        ("DE98ZZ-09999999999", "invalid_format", {}),
        ("DE98ZZZ0999999999-", "invalid_format", {}),
        ("DE98ZZZ" + "0" * 29, "invalid_format", {}),
        ("US49ZZZ123456789", "not_sepa", {"country": "US"}),
        ("BR31ZZZ12345678", "not_sepa", {"country": "BR"}),
        ("DE98ZZZ09999999998", "wrong_check_digits", {}),
        ("DE97ZZZ09999999999", "wrong_check_digits", {}),
        ("DE98ZZZ09999999990", "wrong_check_digits", {}),
        ("NL98ZZZ09999999999", "wrong_check_digits", {}),
    ],
)
def test_validate_creditor_id_rejects(text: str, code: str, params: dict[str, object]) -> None:
    with pytest.raises(CreditorIdError) as caught:
        validate_creditor_id(text)
    assert (caught.value.code, caught.value.params) == (code, params)
    assert caught.value.message == CREDITOR_ID_ERROR_MESSAGES[code].format(**params)


def test_creditor_id_business_code() -> None:
    assert creditor_id_business_code("DE98ZZZ09999999999") == "ZZZ"
    assert creditor_id_business_code("de98 abc 09999999999") == "ABC"


def test_make_creditor_id_computes_the_published_check_digits() -> None:
    for ci in _PUBLISHED_CREDITOR_IDS:
        assert make_creditor_id(ci[:2], ci[7:], ci[4:7]) == ci


def test_make_creditor_id_rejects_malformed_parts() -> None:
    with pytest.raises(CreditorIdError):
        make_creditor_id("D", "09999999999")
    with pytest.raises(CreditorIdError):
        make_creditor_id("DE", "0999-9999")
    with pytest.raises(CreditorIdError):
        make_creditor_id("DE", "09999999999", business_code="ZZ")
    with pytest.raises(CreditorIdError) as caught:
        make_creditor_id("US", "123456789")
    assert caught.value.code == "not_sepa"


_NATIONAL_IDS = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=1, max_size=28)
_BUSINESS_CODES = st.text(alphabet=string.ascii_uppercase + string.digits, min_size=3, max_size=3)


@given(st.sampled_from(sorted(SEPA_COUNTRIES)), _NATIONAL_IDS, _BUSINESS_CODES, _BUSINESS_CODES)
def test_creditor_id_check_digits_ignore_the_business_code(
    country: str, national_id: str, business_code: str, other_business_code: str
) -> None:
    ci = make_creditor_id(country, national_id, business_code)
    assert validate_creditor_id(ci) == ci
    assert creditor_id_business_code(ci) == business_code
    swapped = ci[:4] + other_business_code + ci[7:]
    assert validate_creditor_id(swapped) == swapped


@given(_NATIONAL_IDS, st.data())
def test_creditor_id_detects_any_single_digit_change(national_id: str, data: st.DataObject) -> None:
    ci = make_creditor_id("DE", national_id)
    digit_positions = [i for i, c in enumerate(ci) if c.isdigit() and not 4 <= i < 7]
    position = data.draw(st.sampled_from(digit_positions))
    replacement = data.draw(st.sampled_from([d for d in string.digits if d != ci[position]]))
    with pytest.raises(CreditorIdError) as caught:
        validate_creditor_id(ci[:position] + replacement + ci[position + 1 :])
    assert caught.value.code == "wrong_check_digits"


@given(st.text())
def test_validate_creditor_id_only_ever_raises_creditor_id_error(text: str) -> None:
    try:
        validate_creditor_id(text)
    except CreditorIdError as error:
        assert error.code in CREDITOR_ID_ERROR_MESSAGES


# ---------------------------------------------------------------------------------------------
# Mandate reference


def test_sepa_charset_is_the_epc_basic_latin_set() -> None:
    assert "".join(sorted(SEPA_CHARSET)) == "".join(
        sorted(string.ascii_letters + string.digits + "/-?:().,'+ ")
    )


@pytest.mark.parametrize(
    "reference",
    [
        "MD-7K3Q-9XW2-H4TP",
        "A",
        "x" * 35,
        "2024/0001",
        "Vertrag:(12).3,a'b+c?d",
        " MD-1 ",
    ],
)
def test_validate_mandate_reference_accepts(reference: str) -> None:
    assert validate_mandate_reference(reference) == reference.strip()


@pytest.mark.parametrize(
    ("reference", "code", "params"),
    [
        ("", "empty", {}),
        ("   ", "empty", {}),
        ("x" * 36, "too_long", {"max_length": 35, "actual": 36}),
        ("MD 0001", "invalid_characters", {"characters": "' '"}),
        ("MD_0001", "invalid_characters", {"characters": "'_'"}),
        ("Müller#1", "invalid_characters", {"characters": "'#', 'ü'"}),
        ("/MD-0001", "invalid_slashes", {}),
        ("MD-0001/", "invalid_slashes", {}),
        ("MD//0001", "invalid_slashes", {}),
    ],
)
def test_validate_mandate_reference_rejects(
    reference: str, code: str, params: dict[str, object]
) -> None:
    with pytest.raises(MandateReferenceError) as caught:
        validate_mandate_reference(reference)
    assert (caught.value.code, caught.value.params) == (code, params)
    assert caught.value.message == MANDATE_REFERENCE_ERROR_MESSAGES[code].format(**params)


_REFERENCE_RE = re.compile(
    r"(?:[A-Z0-9]+(?:-[A-Z0-9]+)*-)?(?:[0-9A-HJKMNP-TV-Z]{4}-){2}[0-9A-HJKMNP-TV-Z]{4}"
)


def test_generate_mandate_reference_is_prefixed_and_grouped() -> None:
    reference = generate_mandate_reference()
    assert re.fullmatch(
        r"MD-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", reference
    )


def test_generate_mandate_reference_uses_the_injected_randomness() -> None:
    assert generate_mandate_reference("MD", lambda n: "7K3Q9XW2H4TP"[:n]) == "MD-7K3Q-9XW2-H4TP"


def test_generate_mandate_reference_is_not_repeated() -> None:
    assert len({generate_mandate_reference() for _ in range(50)}) == 50


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("", "AAAA-AAAA-AAAA"),
        ("acme", "ACME-AAAA-AAAA-AAAA"),
        ("Müller & Söhne", "MULLER-SOHNE-AAAA-AAAA-AAAA"),
        ("//MD//", "MD-AAAA-AAAA-AAAA"),
        ("東京", "AAAA-AAAA-AAAA"),
        ("A" * 40, "A" * 20 + "-AAAA-AAAA-AAAA"),
        ("ABCDEFGHIJKLMNOPQRS TUV", "ABCDEFGHIJKLMNOPQRS-AAAA-AAAA-AAAA"),
    ],
)
def test_generate_mandate_reference_sanitises_the_prefix(prefix: str, expected: str) -> None:
    assert generate_mandate_reference(prefix, lambda n: "A" * n) == expected


@pytest.mark.parametrize("bad_random", [lambda n: "A" * (n - 1), lambda n: "I" * n])
def test_generate_mandate_reference_refuses_a_broken_random_source(
    bad_random: Callable[[int], str],
) -> None:
    with pytest.raises(ValueError):
        generate_mandate_reference("MD", bad_random)


@given(st.text(), st.text(alphabet=MANDATE_REFERENCE_ALPHABET, min_size=12, max_size=12))
def test_generate_mandate_reference_is_always_valid(prefix: str, body: str) -> None:
    reference = generate_mandate_reference(prefix, lambda n: body)
    assert len(reference) <= MANDATE_REFERENCE_MAX_LENGTH
    assert validate_mandate_reference(reference) == reference
    assert _REFERENCE_RE.fullmatch(reference)
    assert reference.replace("-", "").endswith(body)


# ---------------------------------------------------------------------------------------------
# Free text


@pytest.mark.parametrize(
    ("text", "max_length", "expected"),
    [
        ("Zoë Müller-Łukasz", 70, "Zoe Muller-Lukasz"),
        ("Ñandú", 70, "Nandu"),
        ("Straße", 70, "Strasse"),
        ("Søren Ærø", 70, "Soren AEro"),
        ("Œuvre d’art", 70, "OEuvre d'art"),
        ("Đorđe Þór", 70, "Dorde THor"),
        ("Smith & Sons", 70, "Smith + Sons"),
        ("“Quoted” — dash", 70, "'Quoted' - dash"),
        ("ﬀ ２０２５", 70, "ff 2025"),
        ("  a \t\n  b  ", 70, "a b"),
        ("Name@example_com", 70, "Name example-com"),
        ("東京", 70, ""),
        ("Jean-Luc Picard", 8, "Jean-Luc"),
        ("Jean Luc", 5, "Jean"),
        ("anything", 0, ""),
    ],
)
def test_to_sepa_text_transliterates(text: str, max_length: int, expected: str) -> None:
    assert to_sepa_text(text, max_length) == expected


def test_to_sepa_text_rejects_negative_length() -> None:
    with pytest.raises(ValueError):
        to_sepa_text("x", -1)


@given(st.text(), st.integers(min_value=0, max_value=140))
def test_to_sepa_text_stays_in_the_charset_and_length(text: str, max_length: int) -> None:
    result = to_sepa_text(text, max_length)
    assert set(result) <= SEPA_CHARSET
    assert len(result) <= max_length
    assert result == result.strip()
    assert "  " not in result

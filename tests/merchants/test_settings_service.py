"""The merchant settings services on both databases: each validates every field before it
stores anything, names each bad one, and audits the change with who made it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.collections.models import CollectionSettings, PainVersion, Route
from portal.collections.routes import CollectionPolicy
from portal.merchants.models import Merchant
from portal.merchants.service import MerchantInputError
from portal.merchants.settings_service import (
    parse_frame_origins,
    update_branding,
    update_frame_origins,
    update_schedules,
    update_senders,
    validate_branding,
)
from tests.factories import make_merchant
from tests.merchants.images import image_bytes

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
ACTOR = "staff:stf_test"
#: The portal's collection defaults, not the model's: what a first row must take over.
POLICY = CollectionPolicy(pain_version="pain.008.001.08", lead_days=2, prenotification_days=5)


def _audit(session: Session, action: str) -> AuditEvent:
    return session.scalars(select(AuditEvent).where(AuditEvent.action == action)).one()


def test_branding_is_stored_with_the_logo_reencoded_and_audited(session: Session) -> None:
    merchant = make_merchant(session)
    branding = validate_branding(merchant, display_name=" Bakkerij  Jansen ",
                                 primary_colour="#1F4B99", locale="de",
                                 logo_upload=image_bytes("PNG", exif=True))
    update_branding(session, merchant, branding, actor=ACTOR, now=NOW)
    session.commit()
    session.expire_all()
    stored = session.get(Merchant, merchant.id)
    assert (stored.display_name, stored.primary_colour, stored.locale) == (
        "Bakkerij  Jansen", "#1f4b99", "de")
    assert stored.logo_mime == "image/jpeg" and b"SecretCam" not in stored.logo
    audit = _audit(session, "merchant.update_branding")
    assert audit.actor == ACTOR and audit.data["after"]["logo_sha256"]
    assert audit.data["before"]["logo_sha256"] is None


def test_a_colour_below_aa_is_refused_with_the_nearest_shade_that_passes(
        session: Session) -> None:
    merchant = make_merchant(session)
    with pytest.raises(MerchantInputError) as caught:
        validate_branding(merchant, display_name="X", primary_colour="#ffcc00", locale="nl")
    message = caught.value.errors["primary_colour"]
    assert "1.51:1" in message and "4.5:1" in message and "#907300" in message


def test_every_bad_branding_field_is_named_and_nothing_changes(session: Session) -> None:
    merchant = make_merchant(session)
    before = (merchant.display_name, merchant.primary_colour, merchant.locale)
    with pytest.raises(MerchantInputError) as caught:
        validate_branding(merchant, display_name="\u202eevil", primary_colour="red",
                          locale="xx", logo_upload=b"<svg onload=alert(1)>")
    assert set(caught.value.errors) == {"display_name", "primary_colour", "locale", "logo"}
    assert (merchant.display_name, merchant.primary_colour, merchant.locale) == before


def test_removing_the_logo(session: Session) -> None:
    merchant = make_merchant(session, logo=image_bytes("PNG"), logo_mime="image/png")
    branding = validate_branding(merchant, display_name="M", primary_colour="#1f4b99",
                                 locale="nl", remove_logo=True)
    update_branding(session, merchant, branding, actor=ACTOR, now=NOW)
    assert merchant.logo is None and merchant.logo_mime is None


def test_frame_origins_replace_the_list_and_are_audited(session: Session) -> None:
    merchant = make_merchant(session, frame_origins=("https://old.example",))
    origins = parse_frame_origins("https://Shop.Example\n\nhttps://shop.example:443\n"
                                  "https://www.shop.example\n")
    update_frame_origins(session, merchant, origins, actor=ACTOR, now=NOW)
    session.commit()
    session.expire_all()
    assert session.get(Merchant, merchant.id).frame_origins == [
        "https://shop.example", "https://www.shop.example"]
    audit = _audit(session, "merchant.update_frame_origins")
    assert audit.data["before"]["frame_origins"] == ["https://old.example"]


def test_bad_origins_are_each_explained(session: Session) -> None:
    with pytest.raises(MerchantInputError) as caught:
        parse_frame_origins("https://ok.example\nhttps://*.shop.example\nhttps://x.example/p")
    message = caught.value.errors["frame_origins"]
    assert "wildcards" in message and "no path" in message
    with pytest.raises(MerchantInputError, match="at most 20"):
        parse_frame_origins("\n".join(f"https://s{n}.example" for n in range(21)))


def test_senders_are_validated_and_stored(session: Session) -> None:
    merchant = make_merchant(session)
    update_senders(session, merchant, mail_from_name="Bakkerij Jansen",
                   reply_to_email="Help@Shop.Example", sms_sender_id="Jansen24", actor=ACTOR,
                   now=NOW)
    session.commit()
    assert (merchant.mail_from_name, merchant.reply_to_email, merchant.sms_sender_id) == (
        "Bakkerij Jansen", "Help@shop.example", "Jansen24")
    update_senders(session, merchant, mail_from_name="", reply_to_email="", sms_sender_id="",
                   actor=ACTOR, now=NOW)
    assert (merchant.mail_from_name, merchant.reply_to_email, merchant.sms_sender_id) == (
        None, None, None)
    assert len(session.scalars(select(AuditEvent).where(
        AuditEvent.action == "merchant.update_senders")).all()) == 2


@pytest.mark.parametrize("sender", ["TwelveChars1", "Bakkerij J", "123456", "Bäckerei",
                                    "a;b", "<b>x</b>"])
def test_sms_sender_ids_the_gateway_refuses_are_refused(session: Session, sender: str) -> None:
    merchant = make_merchant(session)
    with pytest.raises(MerchantInputError) as caught:
        update_senders(session, merchant, mail_from_name="", reply_to_email="",
                       sms_sender_id=sender, actor=ACTOR, now=NOW)
    assert set(caught.value.errors) == {"sms_sender_id"}
    assert merchant.sms_sender_id is None


def test_schedules_and_the_route_are_stored_together(session: Session) -> None:
    merchant = make_merchant(session)
    update_schedules(session, merchant, reminder_days="7, 3", payment_reminder_days="none",
                     retry_delays="4; 8", route="provider", policy=POLICY, actor=ACTOR,
                     now=NOW)
    session.commit()
    session.expire_all()
    stored = session.get(Merchant, merchant.id)
    assert stored.reminder_days == [3, 7] and stored.payment_reminder_days == []
    row = session.scalar(select(CollectionSettings).where(
        CollectionSettings.merchant_id == merchant.id))
    assert row.route is Route.PROVIDER and row.retry_delays_days == [4, 8]
    assert (row.pain_version, row.lead_days, row.prenotification_days) == (
        PainVersion.V08, 2, 5)  # the portal's, as the merchant collected until now
    update_schedules(session, merchant, reminder_days="default", payment_reminder_days="-3,0",
                     retry_delays="5,10", route="bank", policy=POLICY, actor=ACTOR,
                     now=NOW)
    assert stored.reminder_days is None and stored.payment_reminder_days == [-3, 0]


@pytest.mark.parametrize(("fields", "bad"), [
    ({"reminder_days": "0, 3"}, "reminder_days"),
    ({"reminder_days": "three"}, "reminder_days"),
    ({"payment_reminder_days": "-31"}, "payment_reminder_days"),
    ({"retry_delays": "5"}, "retry_delays"),
    ({"retry_delays": ""}, "retry_delays"),
    ({"retry_delays": "5, 61"}, "retry_delays"),
    ({"route": "carrier-pigeon"}, "route"),
])
def test_a_bad_schedule_field_is_named_and_the_rollback_leaves_all_as_it_was(
        session: Session, fields: dict[str, str], bad: str) -> None:
    merchant = make_merchant(session)
    session.commit()
    given = {"reminder_days": "2", "payment_reminder_days": "1", "retry_delays": "5, 10",
             "route": "provider"} | fields
    with pytest.raises(MerchantInputError) as caught:
        update_schedules(session, merchant, policy=POLICY, actor=ACTOR, now=NOW, **given)
    session.rollback()
    assert set(caught.value.errors) == {bad}
    assert merchant.reminder_days is None and merchant.payment_reminder_days is None
    assert session.scalar(select(CollectionSettings)) is None


def test_a_merchant_made_with_a_logo_gets_it_reencoded_and_never_an_svg(
        session: Session) -> None:
    from portal.merchants.service import create_merchant
    from tests.factories import merchant_details

    with pytest.raises(MerchantInputError) as caught:
        create_merchant(session, merchant_details(logo=b"<svg onload=alert(1)/>",
                                                  logo_mime="image/svg+xml"))
    assert set(caught.value.errors) == {"logo"}
    merchant = create_merchant(session, merchant_details(logo=image_bytes("JPEG", exif=True),
                                                         logo_mime="image/png"))
    assert merchant.logo_mime == "image/jpeg" and b"SecretCam" not in merchant.logo

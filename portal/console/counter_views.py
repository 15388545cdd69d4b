"""Counter mode (a mobile point of sale): staff create an invitation or a payment request at
the counter, and the tablet shows its QR code full screen, follows the customer's progress on
their phone (a small JSON status polled by ``console-counter.js``; without JavaScript the page
refreshes itself) and shows the result in large type. The screen faces the customer: it speaks
their language (the switcher, the tablet's browser, else the customer's or merchant's)."""

from __future__ import annotations

from flask import abort, g, jsonify, redirect, render_template, url_for
from flask_babel import get_locale, gettext

from portal.api.views.invitations import invite_from_body
from portal.api.views.payment_requests import request_from_body
from portal.console.blueprint import bp
from portal.console.counter import CounterState, invitation_state, request_state
from portal.console.forms import ActionForm
from portal.console.roles import Permission, requires
from portal.console.work_forms import COUNTER_INVITATION, COUNTER_PAYMENT
from portal.console.work_views import (
    actor,
    audit,
    clock,
    create_from_form,
    invitation_link,
    request_link,
)
from portal.db import get_session
from portal.ids import looks_like
from portal.mandates.service import find_invitation
from portal.payments.messages import money
from portal.payments.service import find_payment_request
from portal.qr import qr_inline_svg

#: Seconds between two looks of the page without JavaScript (the script polls every 2 s).
REFRESH_SECONDS = 5


def counter_page(which: str = "", values: dict[str, str] | None = None,
                 errors: dict[str, str] | None = None):
    errors = errors or {}
    return render_template("console/work/counter.html", merchant=g.merchant,
                           invitation_form=COUNTER_INVITATION, payment_form=COUNTER_PAYMENT,
                           which=which, values=values or {}, errors=errors,
                           action_form=ActionForm()), 422 if errors else 200


@bp.get("/merchants/<merchant_id>/counter")
@requires(Permission.WORK)
def counter(merchant_id: str):
    return counter_page()


@bp.post("/merchants/<merchant_id>/counter/invitations")
@requires(Permission.WORK)
def counter_invitation(merchant_id: str):
    invitation, values, errors = create_from_form(
        COUNTER_INVITATION, lambda session, data: invite_from_body(
            session, g.merchant, {**data, "send_via": "none"}, actor=actor(), now=clock()))
    if errors:
        return counter_page("invitation", values, errors)
    session = get_session()
    audit(session, "create_invitation", invitation.public_id,
          mandate=invitation.mandate.public_id, channel="counter")
    session.commit()
    return redirect(url_for("console.counter_screen", merchant_id=merchant_id,
                            public_id=invitation.public_id), 303)


@bp.post("/merchants/<merchant_id>/counter/payment-requests")
@requires(Permission.WORK)
def counter_payment_request(merchant_id: str):
    preq, values, errors = create_from_form(
        COUNTER_PAYMENT, lambda session, data: request_from_body(
            session, g.merchant, {**data, "send_via": "none"}, actor=actor(), now=clock()))
    if errors:
        return counter_page("payment", values, errors)
    session = get_session()
    audit(session, "create_payment_request", preq.public_id, amount_cents=preq.amount_cents,
          channel="counter")
    session.commit()
    return redirect(url_for("console.counter_screen", merchant_id=merchant_id,
                            public_id=preq.public_id), 303)


def _shown(public_id: str):
    """The merchant's invitation or payment request the screen shows, with its state; the
    customer's language is the one to fall back on."""
    session = get_session()
    if looks_like(public_id, "inv"):
        invitation = find_invitation(session, g.merchant.id, public_id)
        if invitation is not None:
            g.locale_hint = invitation.mandate.customer.locale or g.merchant.locale
            return invitation, invitation_state(session, invitation, clock())
    elif looks_like(public_id, "preq"):
        preq = find_payment_request(session, g.merchant.id, public_id)
        if preq is not None:
            g.locale_hint = preq.customer.locale or g.merchant.locale
            return preq, request_state(preq, clock())
    abort(404)


@bp.get("/merchants/<merchant_id>/counter/<public_id>")
@requires(Permission.READ)
def counter_screen(merchant_id: str, public_id: str):
    shown, state = _shown(public_id)
    session = get_session()
    if public_id.startswith("inv"):
        _link, short = invitation_link(session, shown)
        title = gettext("Sign the direct-debit mandate")
        link = short or _link
    else:
        _link, link = request_link(session, shown)
        session.commit()  # the short link, made once
        title = gettext("Pay %(amount)s", amount=money(shown.amount_cents, str(get_locale())))
    return render_template(
        "console/work/counter_screen.html", merchant=g.merchant, shown=shown, state=state,
        title=title, qr=None if state.final else qr_inline_svg(link), link=link,
        refresh=REFRESH_SECONDS,
        status_url=url_for("console.counter_status", merchant_id=merchant_id,
                           public_id=public_id))


@bp.get("/merchants/<merchant_id>/counter/<public_id>/status")
@requires(Permission.READ)
def counter_status(merchant_id: str, public_id: str):
    state: CounterState = _shown(public_id)[1]
    response = jsonify(state=state.name, label=gettext(state.label), final=state.final)
    response.headers["Cache-Control"] = "no-store"
    return response

"""Unsubscribing from reminders to sign or to pay (RFC 8058): ``GET /s/<code>/unsubscribe`` asks for a
confirmation, since mail scanners follow links; ``POST`` (the mail client's one-click
``List-Unsubscribe=One-Click``, or the button) unsubscribes. The short code is the capability,
so the POST needs no CSRF token and no session."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request

from portal import csrf
from portal.adapters import get_adapters
from portal.db import get_session
from portal.limits import configured, limiter
from portal.payments.reminders import unsubscribe_reminders
from portal.reminders.service import unsubscribe
from portal.shortlinks.service import find_short_link
from portal.sign.service import LinkRefusal

bp = Blueprint("reminders", __name__, url_prefix="/s")


@bp.route("/<code>/unsubscribe", methods=["GET", "POST"])
@csrf.exempt
@limiter.limit(configured("SHORTLINK"))
def unsubscribe_page(code: str) -> tuple[str, int]:
    session = get_session()
    link = find_short_link(session, code)
    if link is None:
        return render_template("sign/refused.html", reason=LinkRefusal.UNKNOWN.value,
                               merchant=None, mandate=None), 404
    if link.payment_request is not None:  # reminders to pay, not to sign
        payment_request = link.payment_request
        g.locale_hint = payment_request.customer.locale
        done = payment_request.reminders_unsubscribed_at is not None
        if request.method == "POST":
            unsubscribe_reminders(session, payment_request, get_adapters().clock())
            session.commit()
            done = True
        return render_template("reminders/unsubscribe.html", merchant=payment_request.merchant,
                               done=done, code=code, about="payment"), 200
    invitation = link.invitation
    assert invitation is not None  # a short link names an invitation or a payment request
    g.locale_hint = invitation.mandate.customer.locale
    done = invitation.unsubscribed_at is not None
    if request.method == "POST":
        unsubscribe(session, invitation, get_adapters().clock())
        session.commit()
        done = True
    return render_template("reminders/unsubscribe.html", merchant=invitation.merchant,
                           done=done, code=code, about="mandate"), 200

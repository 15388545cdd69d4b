"""``GET /s/<code>``: count the open and send the customer on to the signing page.

The redirect target is always ``PUBLIC_BASE_URL`` + ``/sign/<token>`` built here from the
invitation row, never from the request, so no code can lead off the portal."""

from __future__ import annotations

from flask import Blueprint, current_app, g, redirect, render_template
from werkzeug.wrappers import Response

from portal.adapters import get_adapters
from portal.db import get_session
from portal.limits import configured, limiter
from portal.mandates.links import Links
from portal.shortlinks.service import find_short_link, record_open
from portal.sign.service import LinkRefusal, record_opened, refusal

bp = Blueprint("shortlinks", __name__, url_prefix="/s")

#: Invitations that can no longer lead anywhere answer 410 here; a signed one still goes on to
#: the signing page, which shows the mandate reference.
GONE = (LinkRefusal.EXPIRED, LinkRefusal.WITHDRAWN, LinkRefusal.CLOSED)


@bp.get("/<code>")
@limiter.limit(configured("SHORTLINK"))
def follow(code: str) -> Response | tuple[str, int]:
    session = get_session()
    link = find_short_link(session, code)
    if link is None:
        return render_template("sign/refused.html", reason=LinkRefusal.UNKNOWN.value,
                               merchant=None, mandate=None), 404
    if link.payment_request is not None:  # a checkout page
        from portal.payments.links import checkout_url

        record_open(session, link, get_adapters().clock())
        session.commit()
        response = redirect(checkout_url(link.payment_request), code=303)
        response.headers["Cache-Control"] = "no-store"
        return response
    invitation = link.invitation
    assert invitation is not None
    g.locale_hint = invitation.mandate.customer.locale
    now = get_adapters().clock()
    record_open(session, link, now)
    reason = refusal(invitation.used_at, invitation.withdrawn_at, invitation.expires_at,
                     invitation.mandate.status, now, invitation.purpose)
    if reason in GONE:
        session.commit()
        return render_template("sign/refused.html", reason=reason.value,
                               merchant=invitation.merchant, mandate=invitation.mandate), 410
    if reason is None:
        record_opened(session, invitation, now)
    session.commit()
    links = Links.from_config(current_app.config)
    response = redirect(links.invitation_url(invitation.public_id, invitation.expires_at),
                        code=303)
    response.headers["Cache-Control"] = "no-store"
    return response

"""The text of an invitation SMS and its reminders: the customer's language, the merchant's
name and the short link, in one GSM-7 segment whenever the link leaves room for it."""

from __future__ import annotations

from flask_babel import force_locale, gettext

from portal.sms.segments import GSM_EXTENDED, GSM_SINGLE, is_gsm, septets, to_gsm


def _render(name: str, link: str, reminder: bool) -> str:
    if reminder:
        return gettext("Reminder: %(name)s is still waiting for your direct debit mandate: "
                       "%(link)s", name=name, link=link)
    return gettext("%(name)s asks you to sign a direct debit mandate: %(link)s",
                   name=name, link=link)


def _shortened(name: str, budget: int) -> str:
    """As much of the name as fits ``budget`` septets."""
    kept, used = [], 0
    for char in name:
        cost = 2 if char in GSM_EXTENDED else 1
        if used + cost > budget:
            break
        kept.append(char)
        used += cost
    return "".join(kept).rstrip(" -,.&")


def invitation_sms(merchant_name: str, link: str, locale: str, *, reminder: bool = False) -> str:
    """The message; a name outside the GSM alphabet is spelled in it (``Łódź`` → ``Lodz``) and
    a long one shortened, so the message stays one 160-character segment."""
    with force_locale(locale):
        text = _render(merchant_name, link, reminder)
        if is_gsm(text) and septets(text) <= GSM_SINGLE:
            return text
        name = to_gsm(merchant_name)
        text = _render(name, link, reminder)
        if not is_gsm(text):  # the translation itself needs UCS-2: send it as it is
            return _render(merchant_name, link, reminder)
        budget = GSM_SINGLE - septets(_render("", link, reminder))
        if septets(text) > GSM_SINGLE and budget >= 8:
            text = _render(_shortened(name, budget), link, reminder)
        return text

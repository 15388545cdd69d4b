"""The Core signing journey over real HTTP (httpx), for process tests and benchmarks."""

from __future__ import annotations

import re

import httpx

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
REQUESTS_PER_FLOW = 6


def journey_client(base: str) -> httpx.Client:
    """A client for :func:`sign_and_verify`; a bench thread makes one and reuses it."""
    return httpx.Client(base_url=base, follow_redirects=False, timeout=30)


def sign_and_verify(base: str, path: str, iban: str = "NL91ABNA0417164300", *,
                    client: httpx.Client | None = None) -> str:
    """One customer: open, submit, sandbox checkout, pay, return, confirmation. Returns the
    confirmation page; raises if any step answers unexpectedly. A ``client`` given is reused
    (its cookies cleared first, as a new customer's browser has none); else one is made."""
    if client is None:
        with journey_client(base) as made:
            return sign_and_verify(base, path, iban, client=made)
    client.cookies.clear()
    page = client.get(path + "?lang=en")
    page.raise_for_status()
    started = client.post(path, data={"csrf_token": CSRF.search(page.text).group(1),
                                      "name": "Sam de Vries", "email": "sam@example.org",
                                      "iban": iban, "consent": "y"})
    if started.status_code != 303:
        raise RuntimeError(f"submit answered {started.status_code}")
    checkout = started.headers["location"].removeprefix(base)
    sandbox = client.get(checkout)
    paid = client.post(checkout, data={"csrf_token": CSRF.search(sandbox.text).group(1),
                                       "issuer": "INGBNL2A", "outcome": "paid",
                                       "payer_name": "Sam de Vries", "payer_iban": ""})
    back = client.get(paid.headers["location"].removeprefix(base))
    done = client.get(back.headers["location"].removeprefix(base))
    if done.status_code != 200 or "mandate-status" not in done.text:
        raise RuntimeError(f"flow ended with {done.status_code}")
    return done.text

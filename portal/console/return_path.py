"""Where a console action returns to: the page its form was on, when the form says so (``back``)
and it is a path of this console; anything else (another host, a scheme, a path the browser
would read as another host) returns to the action's own default page instead."""

from __future__ import annotations

from urllib.parse import urlsplit

PREFIX = "/console/"
MAX_LENGTH = 2000


def return_path(back: str | None, default: str) -> str:
    """``back`` if it is a same-origin path under ``/console/``, else ``default``."""
    if not back or len(back) > MAX_LENGTH or not back.startswith(PREFIX):
        return default
    if "\\" in back or any(ord(char) < 0x21 or ord(char) == 0x7F for char in back):
        return default  # browsers read "\" as "/", and drop tabs and newlines
    parts = urlsplit(back)
    if parts.scheme or parts.netloc or "//" in parts.path:
        return default
    return back

"""Hostile inputs for the console's search box, settings fields and CSV import.

Every test that feeds one of these in checks two things: nothing changed that should not have
(no row written, no other merchant touched, no error page 500), and whatever is echoed back is
escaped (the payload never appears unescaped in the HTML)."""

from __future__ import annotations

#: SQL injection attempts, for SQLite and PostgreSQL alike.
SQL_INJECTION: tuple[str, ...] = (
    "' OR '1'='1",
    "' OR 1=1 --",
    "\" OR \"\"=\"",
    "'; DROP TABLE mandate; --",
    "1; DELETE FROM merchant",
    "' UNION SELECT public_id, reference FROM mandate --",
    "%' AND 1=0 UNION SELECT NULL --",
    "admin'/*",
    "\\'; SELECT pg_sleep(5); --",
    "' AND (SELECT COUNT(*) FROM staff_user) > 0 --",
    "%%",
    "_",
    "\x00",
)

#: Cross-site scripting attempts: each must come back escaped, never as markup.
XSS: tuple[str, ...] = (
    "<script>alert(1)</script>",
    "\"><script>alert(1)</script>",
    "'><img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "javascript:alert(1)",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    "</style><script>alert(1)</script>",
    "{{ 7*7 }}",
    "${7*7}",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
)

#: CSV formula injection: a cell a spreadsheet would run (=, +, -, @ at the start).
CSV_FORMULAS: tuple[str, ...] = (
    "=HYPERLINK(\"https://evil.example\",\"click\")",
    "=cmd|' /C calc'!A0",
    "+1+1",
    "-1+1",
    "@SUM(1+1)",
)

PAYLOADS: tuple[str, ...] = SQL_INJECTION + XSS

#: Markup that must never appear verbatim in a page that echoed one of :data:`XSS`.
UNESCAPED_MARKERS: tuple[str, ...] = ("<script>alert(1)", "<img src=x onerror", "<svg onload",
                                      "<iframe src=\"javascript")

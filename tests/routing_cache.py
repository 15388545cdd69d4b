"""Tests build a fresh app per test; Werkzeug compiles two URL builders per route each time.

``Rule._compile_builder`` turns a rule into Python source (ast + ``compile``) — most of what
``create_app()`` costs. The builder it returns is a plain function of the rule's parsed parts that
reads the rule's converters through its bound ``self`` at call time, so rules that parse alike
(every app's copy of the same route) can share one. ``install()`` memoises it per test process;
the routes, their matching and URL building are Werkzeug's own, only compiled once.
"""

from __future__ import annotations

from typing import Any

from werkzeug.routing.rules import Rule

_original = Rule._compile_builder
_builders: dict[tuple, Any] = {}


def _converter_key(converter: Any) -> tuple:
    settings = sorted((name, repr(value)) for name, value in vars(converter).items()
                      if name != "map")
    return type(converter).__module__, type(converter).__qualname__, tuple(settings)


def _key(rule: Rule, append_unknown: bool) -> tuple:
    defaults = rule.defaults or {}
    converters = getattr(rule, "_converters", {})
    return (
        append_unknown,
        rule.rule,
        tuple(rule._trace),
        tuple(sorted((name, repr(value)) for name, value in defaults.items())),
        tuple(sorted((name, _converter_key(converter)) for name, converter in converters.items()
                     if name in defaults)),
    )


def _compile_builder(self: Rule, append_unknown: bool = True) -> Any:
    key = _key(self, append_unknown)
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _original(self, append_unknown)
    return builder


def install() -> None:
    """Share compiled URL builders between apps (idempotent)."""
    Rule._compile_builder = _compile_builder  # type: ignore[method-assign]

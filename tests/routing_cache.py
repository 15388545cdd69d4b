"""Tests build a fresh app per test; Werkzeug parses and compiles every route again each time.

Three steps of ``Map.add`` were most of what ``create_app()`` costs (~68 ms an app, ~3,000 apps
a suite run), and each gives the same result for every app's copy of a route:

- ``Rule._compile_builder`` turns a rule into Python source (ast + ``compile``). The builder it
  returns is a plain function of the rule's parsed parts that reads the rule's converters
  through its bound ``self`` at call time, so rules that parse alike can share one.
- ``Rule._parse_rule`` splits the rule into its matcher parts. Its result depends only on the
  rule text and the map's converter classes; it is recorded once (the parts, the trace, the
  converters asked for and the arguments) and replayed, each app's rule still getting
  converters of its own, made for its own map by ``Rule.get_converter``.
- ``StateMachineMatcher.add`` made a new ``State`` for every static part of every rule, kept
  only when the part was new (``setdefault``); the replacement makes one only then.

``install()`` patches these per test process (idempotent). Routes, matching and URL building
stay Werkzeug's own; only work whose result is already known is skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from werkzeug.routing.matcher import State, StateMachineMatcher
from werkzeug.routing.rules import Rule, RulePart

_original_builder = Rule._compile_builder
_original_parse = Rule._parse_rule
_builders: dict[tuple, Any] = {}
#: rule text and converter classes → (parts, trace, converters asked for, arguments)
_parsed: dict[tuple, tuple[list[RulePart], list, list[tuple], set[str]]] = {}


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
        builder = _builders[key] = _original_builder(self, append_unknown)
    return builder


class _Recorder:
    """Stands in for the rule while it is parsed the first time: notes what parsing asks for."""

    def __init__(self, rule: Rule) -> None:
        self.map = rule.map
        self._trace: list = []
        self._converters: dict[str, Any] = {}
        self.arguments: set[str] = set()
        self.asked: list[tuple] = []

    def get_converter(self, variable: str, name: str, args: tuple, kwargs: Any) -> Any:
        self.asked.append((variable, name, args, dict(kwargs)))
        return Rule.get_converter(self, variable, name, args, kwargs)  # type: ignore[arg-type]


def _parse_rule(self: Rule, rule: str) -> Iterable[RulePart]:
    key = (rule, tuple(self.map.converters.items()))
    parsed = _parsed.get(key)
    if parsed is None:
        recorder = _Recorder(self)
        parts = list(_original_parse(recorder, rule))  # type: ignore[arg-type]
        parsed = _parsed[key] = (parts, recorder._trace, recorder.asked, recorder.arguments)
    parts, trace, asked, arguments = parsed
    self._trace.extend(trace)
    for variable, name, args, kwargs in asked:
        self._converters[variable] = self.get_converter(variable, name, args, kwargs)
    self.arguments.update(arguments)
    return iter(parts)


def _matcher_add(self: StateMachineMatcher, rule: Rule) -> None:
    """Werkzeug's ``StateMachineMatcher.add``, making a ``State`` only for a new part."""
    state = self._root
    for part in rule._parts:
        if part.static:
            following = state.static.get(part.content)
            if following is None:
                following = state.static[part.content] = State()
            state = following
        else:
            for test_part, new_state in state.dynamic:
                if test_part == part:
                    state = new_state
                    break
            else:
                new_state = State()
                state.dynamic.append((part, new_state))
                state = new_state
    state.rules.append(rule)


def install() -> None:
    """Share parsed rules and compiled URL builders between apps (idempotent)."""
    Rule._compile_builder = _compile_builder  # type: ignore[method-assign]
    Rule._parse_rule = _parse_rule  # type: ignore[method-assign]
    StateMachineMatcher.add = _matcher_add  # type: ignore[method-assign]

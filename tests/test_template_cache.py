"""The suite's shared template cache (tests/template_cache.py) compiles each template once per
process, and only reuses code for the same source under the same environment options."""

from __future__ import annotations

from flask import Flask
from jinja2 import DictLoader, Environment

from portal import create_app
from portal.db import state
from tests.conftest import app_settings
from tests.template_cache import SHARED, SharedBytecodeCache


def environment(templates: dict[str, str], **options) -> tuple[Environment, list[str]]:
    """An environment on the shared kind of cache, recording which templates it parses."""
    parsed: list[str] = []

    class Recording(Environment):
        def _parse(self, source, name, filename):
            parsed.append(name)
            return super()._parse(source, name, filename)

    return Recording(loader=DictLoader(templates), **options), parsed


def test_a_template_compiles_once_and_again_only_when_its_source_or_options_differ() -> None:
    cache = SharedBytecodeCache()
    first, parsed_first = environment({"t.html": "{{ 1 + 1 }}"}, bytecode_cache=cache)
    second, parsed_second = environment({"t.html": "{{ 1 + 1 }}"}, bytecode_cache=cache)
    assert first.get_template("t.html").render() == "2" and parsed_first == ["t.html"]
    assert second.get_template("t.html").render() == "2" and parsed_second == []
    edited, parsed_edited = environment({"t.html": "{{ 2 + 2 }}"}, bytecode_cache=cache)
    assert edited.get_template("t.html").render() == "4" and parsed_edited == ["t.html"]
    other, parsed_other = environment({"t.html": "{{ 2 + 2 }}"}, bytecode_cache=cache,
                                      variable_start_string="[[", variable_end_string="]]")
    assert other.get_template("t.html").render() == "{{ 2 + 2 }}" and parsed_other == ["t.html"]


def test_every_app_of_the_suite_shares_the_cache(app: Flask, database_url: str, tmp_path) -> None:
    other = create_app(app_settings(database_url, tmp_path / "other"))
    assert app.jinja_env.bytecode_cache is SHARED and other.jinja_env.bytecode_cache is SHARED
    assert app.jinja_env is not other.jinja_env
    state(other).dispose()

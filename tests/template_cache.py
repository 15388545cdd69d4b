"""Tests build a fresh app per test, and each app's Jinja environment compiles every template it
renders again (lex, parse, generate Python source, ``compile``) — a quarter of a page test's CPU.

``install()`` gives every Flask app's environment one process-wide bytecode cache: the first
app to render a template compiles it, later apps load the code object. Jinja keys each entry by
template name and file and checks a SHA-1 of the source, so an edited template compiles afresh;
the key here also carries the environment's options that change the generated code (delimiters,
whitespace handling, extensions, autoescape and finalize functions), so apps configured
differently never share code. Rendering, globals, filters and context stay each app's own.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from jinja2 import BytecodeCache, Environment
from jinja2.bccache import Bucket

_original = Flask.create_jinja_environment


def _name(value: Any) -> str:
    function = getattr(value, "__func__", value)
    return f"{getattr(function, '__module__', '')}.{getattr(function, '__qualname__', value)!r}"


def _options(environment: Environment) -> tuple:
    return (
        environment.block_start_string, environment.block_end_string,
        environment.variable_start_string, environment.variable_end_string,
        environment.comment_start_string, environment.comment_end_string,
        environment.line_statement_prefix, environment.line_comment_prefix,
        environment.trim_blocks, environment.lstrip_blocks, environment.newline_sequence,
        environment.keep_trailing_newline, environment.optimized, environment.is_async,
        tuple(sorted(environment.extensions)),
        _name(environment.autoescape), _name(environment.finalize),
    )


class SharedBytecodeCache(BytecodeCache):
    """Compiled templates kept in memory for every environment of this process."""

    def __init__(self) -> None:
        self._code: dict[tuple, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get((_options(bucket.environment), bucket.key))
        if code is not None:
            bucket.bytecode_from_string(code)  # ignored (recompiled) when the checksum differs

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[(_options(bucket.environment), bucket.key)] = bucket.bytecode_to_string()

    def clear(self) -> None:
        self._code.clear()


SHARED = SharedBytecodeCache()


def _create_jinja_environment(self: Flask) -> Any:
    environment = _original(self)
    if environment.bytecode_cache is None:
        environment.bytecode_cache = SHARED
    return environment


def install() -> None:
    """Share compiled templates between apps (idempotent)."""
    Flask.create_jinja_environment = _create_jinja_environment  # type: ignore[method-assign]

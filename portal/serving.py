"""How gunicorn serves the portal (``gunicorn.conf.py``): where it listens and how many workers,
read once here so ``flask check`` judges the same settings gunicorn uses."""

from __future__ import annotations

import ipaddress
import multiprocessing
import shlex
from collections.abc import Mapping

DEFAULT_BIND = "127.0.0.1:8000"


def _command_line_option(environ: Mapping[str, str], *names: str) -> list[str]:
    """Values of an option in ``GUNICORN_CMD_ARGS`` (which gunicorn reads as well)."""
    words = shlex.split(environ.get("GUNICORN_CMD_ARGS", ""))
    values = []
    for index, word in enumerate(words):
        for name in names:
            if word == name and index + 1 < len(words):
                values.append(words[index + 1])
            elif name.startswith("--") and word.startswith(name + "="):
                values.append(word.partition("=")[2])
    return values


def binds(environ: Mapping[str, str]) -> list[str]:
    """Where gunicorn listens: ``GUNICORN_CMD_ARGS`` ``--bind``, else ``PORTAL_BIND``."""
    return _command_line_option(environ, "-b", "--bind") or [
        environ.get("PORTAL_BIND", DEFAULT_BIND)]


def web_workers(environ: Mapping[str, str]) -> int:
    """gunicorn's workers: ``GUNICORN_CMD_ARGS`` ``--workers``, else ``PORTAL_WEB_WORKERS``, else
    2 × cores + 1 (the classic for sync workers)."""
    given = _command_line_option(environ, "-w", "--workers") or [
        environ.get("PORTAL_WEB_WORKERS", "")]
    try:
        return int(given[-1])
    except ValueError:
        return multiprocessing.cpu_count() * 2 + 1


def reachable_from_outside(bind: str) -> bool:
    """Whether a gunicorn bind accepts connections from other hosts: anything but loopback
    addresses and Unix sockets (a name other than localhost may resolve to anything)."""
    if bind.startswith(("unix:", "fd://")):
        return False
    if bind.startswith("["):
        host = bind[1:].partition("]")[0]
    else:
        host = bind.partition(":")[0] if bind.count(":") == 1 else bind
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True  # "", "0.0.0.0"-like spellings or a name

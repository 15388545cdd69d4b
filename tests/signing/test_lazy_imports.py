"""`signing` loads its submodules on first use, so an app that never renders or seals a PDF
starts without WeasyPrint and pyHanko (seconds of CPU in every web, worker and CLI process)."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import signing

#: What rendering and sealing pull in; none of it is needed to serve pages or run jobs.
HEAVY = ("weasyprint", "pydyf", "fontTools", "pyhanko", "pyhanko_certvalidator", "aiohttp")

START_APP = """
import json, sys, tempfile
from portal import create_app
folder = tempfile.mkdtemp()
create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{folder}/portal.sqlite3",
            "SECRET_KEY": "s", "DATA_KEY": "d", "AUDIT_KEY": "a", "INSTANCE_PATH": folder,
            "PUBLIC_BASE_URL": "http://localhost"})
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[1:]))))
"""


def test_creating_the_app_loads_neither_weasyprint_nor_pyhanko(repo_root: Path) -> None:
    result = subprocess.run([sys.executable, "-c", START_APP, *HEAVY], cwd=repo_root,
                            capture_output=True, text=True, timeout=120, check=True)
    assert json.loads(result.stdout) == []


def test_every_public_name_is_the_one_its_submodule_defines() -> None:
    assert sorted(signing.__all__) == sorted(signing._SUBMODULE)
    for name, submodule in signing._SUBMODULE.items():
        module = importlib.import_module(f"signing.{submodule}")
        assert getattr(signing, name) is getattr(module, name), name
        assert name in dir(signing)
    from signing import render_mandate_pdf, verify  # the form the portal uses

    assert render_mandate_pdf.__module__ == "signing.render"
    assert verify.__module__ == "signing.verify"


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        signing.no_such_thing  # noqa: B018
    with pytest.raises(ImportError):
        from signing import no_such_thing  # noqa: F401


def test_importing_the_verify_module_leaves_the_function_under_its_name() -> None:
    """``signing.verify`` is the function, also after ``signing/verify.py`` is imported on
    its own (which sets the package's attribute of that name)."""
    loaded = importlib.import_module("signing.verify")
    del sys.modules["signing.verify"], signing.verify
    try:
        importlib.import_module("signing.verify")  # a fresh load, as in a new process
        from signing import verify

        assert callable(verify) and verify.__module__ == "signing.verify"
    finally:
        sys.modules["signing.verify"], signing.verify = loaded, loaded.verify

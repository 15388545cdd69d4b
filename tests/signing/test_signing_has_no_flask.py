import json
import os
import subprocess
import sys


def test_importing_signing_loads_neither_flask_nor_the_portal(repo_root):
    script = (
        "import json, sys, signing; "
        "[getattr(signing, name) for name in signing.__all__]; "  # every submodule, not lazily
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('flask', 'werkzeug', 'portal'))))"
    )
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(result.stdout) == []

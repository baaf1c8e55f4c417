"""The worker SDK is standard-library only: every module at the top of ``relays/``.

Workers run under any ``python3`` (often one without gevent), so importing the SDK
must not load gevent, pykka or marshmallow. The server-side relays live in
``relays/server/`` and are exempt.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SDK = sorted(
    f"relays.{p.stem}" if p.stem != "__init__" else "relays" for p in (ROOT / "relays").glob("*.py")
)
FORBIDDEN = ("gevent", "pykka", "marshmallow", "ruamel", "actors", "relays.server")


def test_sdk_modules_are_found() -> None:
    assert {"relays", "relays.worker", "relays.http", "relays.wsgi", "relays.frame"} <= set(SDK)


def test_importing_the_sdk_loads_no_server_dependency() -> None:
    code = (
        "import importlib, json, sys\n"
        f"for name in {SDK!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}"
        f" or m.startswith('relays.server'))\n"
        "print(json.dumps(bad))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []

"""A server installed in a virtualenv runs its Python workers from that virtualenv.

A systemd unit or a Dockerfile starts ``/srv/venv/bin/greenrunner`` without activating
the venv, so ``python3`` on PATH is the system's, which has neither the SDK nor the
app's packages. Workers must see the venv the way an activated shell would.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from actors.process import build_worker_env, server_environ
from tests.deploy._run import BARE_PATH, free_port, get, rr_yaml, serve, server_argv, write_app

IN_VENV = sys.prefix != sys.base_prefix

APP = textwrap.dedent(
    """
    import json, os, sys

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/json")])
        info = {"executable": sys.executable, "path": os.environ["PATH"],
                "venv": os.environ.get("VIRTUAL_ENV", "")}
        return [json.dumps(info).encode()]
    """
)


@pytest.mark.skipif(not IN_VENV, reason="the suite runs in a virtualenv (.ci/run makes one)")
def test_installed_server_started_by_full_path_serves_python3_workers(tmp_path: Path) -> None:
    write_app(tmp_path, {"app.py": APP})
    port = free_port()
    (tmp_path / ".rr.yaml").write_text(rr_yaml("python3 -m relays.wsgi app:app", port))
    with serve(server_argv(".rr.yaml"), tmp_path, port, tmp_path / "server.log"):
        status, body = get(port)
    assert status == 200, body
    info = json.loads(body)
    bindir = str(Path(sys.executable).parent)
    assert info["path"].split(":")[0] == bindir
    assert info["path"].split(":")[1:] == BARE_PATH.split(":")
    assert Path(info["executable"]).parent == Path(bindir)
    assert info["venv"] == sys.prefix


@pytest.mark.skipif(not IN_VENV, reason="the suite runs in a virtualenv (.ci/run makes one)")
def test_venv_bin_goes_first_once() -> None:
    bindir = str(Path(sys.executable).parent)
    env = server_environ({"PATH": f"/usr/bin:{bindir}:/bin", "PYTHONHOME": "/x"})
    assert env["PATH"] == f"{bindir}:/usr/bin:/bin"
    assert env["VIRTUAL_ENV"] == sys.prefix
    assert "PYTHONHOME" not in env


def test_server_env_path_overrides_the_venv_path() -> None:
    env = build_worker_env(
        relay="pipes",
        server_env={"path": "/opt/only"},
        plugin_env={},
        base={"PATH": "/usr/bin"},
    )
    assert env["PATH"] == "/opt/only"

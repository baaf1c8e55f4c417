"""Workers switched to ``server.user`` get that user's ``HOME``, ``USER`` and ``LOGNAME``.

Left with ``HOME=/root``, a worker running as ``nobody`` fails on the first cache file
it writes (composer, pip, git); ``sudo -H`` sets these three, and so does Greenrunner.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path

import pytest

from actors import ActorSystem
from actors.process import build_worker_env, resolve_credentials

ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="switching user needs root")


@ROOT_ONLY
def test_worker_env_names_the_target_user() -> None:
    nobody = pwd.getpwnam("nobody")
    env = build_worker_env(
        relay="pipes",
        server_env={"home": "/srv/override"},
        plugin_env={},
        base={"HOME": "/root", "USER": "root", "LOGNAME": "root", "PATH": "/usr/bin"},
        credentials=resolve_credentials("nobody"),
    )
    assert (env["USER"], env["LOGNAME"]) == ("nobody", "nobody")
    assert env["HOME"] == "/srv/override"  # server.env still wins, as documented
    env = build_worker_env(
        relay="pipes",
        server_env={},
        plugin_env={},
        base={"HOME": "/root"},
        credentials=resolve_credentials("nobody"),
    )
    assert env["HOME"] == nobody.pw_dir


def test_no_user_keeps_the_inherited_identity() -> None:
    env = build_worker_env(
        relay="pipes", server_env={}, plugin_env={}, base={"HOME": "/home/me", "USER": "me"}
    )
    assert (env["HOME"], env["USER"]) == ("/home/me", "me")


@ROOT_ONLY
def test_on_init_as_nobody_sees_nobodys_home() -> None:
    scratch = Path(tempfile.mkdtemp(prefix="gr-user-"))  # pytest's tmp_path is root-only
    scratch.chmod(0o777)
    out = scratch / "who"
    keys = "('HOME', 'USER', 'LOGNAME')"
    code = f"import os; open({str(out)!r}, 'w').write(' '.join(os.environ[k] for k in {keys}))"
    system = ActorSystem.from_dict(
        {
            "server": {
                "command": ["/usr/bin/python3", "-c", "pass"],
                "on_init": {
                    "command": ["/usr/bin/python3", "-c", code],
                    "user": "nobody",
                    "exit_on_error": True,
                },
            },
            "logs": {"level": "error"},
        }
    )
    try:
        system.start()
        system.stop(timeout=3)
        assert out.read_text() == f"{pwd.getpwnam('nobody').pw_dir} nobody nobody"
    finally:
        shutil.rmtree(scratch)

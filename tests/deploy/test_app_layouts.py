"""Greenrunner inside real application layouts: its own names never shadow the app's.

cookiecutter-django and many other projects have a top-level ``config`` package; the
server once installed a package of that name and crashed when started from such a
directory. Every top-level name the distribution installs is checked here too.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.deploy._run import bare_env, free_port, get, rr_yaml, serve, server_argv, write_app

DJANGO_LIKE = {
    "config/__init__.py": "SETTINGS_MODULE = 'config.settings'\n",
    "config/settings.py": "DEBUG = False\n",
    "config/wsgi.py": textwrap.dedent(
        """
        from config import settings

        def application(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [f"django-like app, DEBUG={settings.DEBUG}".encode()]
        """
    ),
}


def test_server_started_from_a_project_with_a_config_package_serves_it(tmp_path: Path) -> None:
    write_app(tmp_path, DJANGO_LIKE)
    port = free_port()
    (tmp_path / ".rr.yaml").write_text(
        rr_yaml("python3 -m relays.wsgi config.wsgi:application", port)
    )
    with serve(server_argv(".rr.yaml"), tmp_path, port, tmp_path / "server.log"):
        assert get(port) == (200, b"django-like app, DEBUG=False")


def test_gevent_app_with_its_own_config_package_embeds_a_pool(tmp_path: Path) -> None:
    worker = (
        "from relays import Worker\n"
        "w = Worker.create()\n"
        "while (p := w.wait_payload()) is not None:\n"
        "    w.respond(p)\n"
    )
    app = textwrap.dedent(
        """
        import gevent
        import config  # the application's own package, imported first
        from actors import ActorSystem, Payload

        system = ActorSystem.from_dict(
            {"server": {"command": "python3 worker.py"}, "logs": {"level": "error"}}
        ).start()
        try:
            pool = system.new_pool("app", {"num_workers": 2})
            ask = lambda i: pool.exec(Payload(f"{config.NAME} {i}".encode()))
            jobs = [gevent.spawn(ask, i) for i in range(4)]
            gevent.joinall(jobs, raise_error=True)
            print(sorted(j.value.body.decode() for j in jobs))
        finally:
            system.stop()
        """
    )
    write_app(
        tmp_path, {"config/__init__.py": "NAME = 'mine'\n", "app.py": app, "worker.py": worker}
    )
    proc = subprocess.run(
        [sys.executable, "app.py"],
        cwd=tmp_path,
        env=bare_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "['mine 0', 'mine 1', 'mine 2', 'mine 3']"


TOP_LEVEL = """
import json, re
from importlib import metadata
files = metadata.distribution("greenrunner").files or []
top = {f.parts[0].removesuffix(".py") for f in files if len(f.parts) > 1 or f.suffix == ".py"}
top = {n for n in top if not n.endswith(".dist-info") and n not in ("..", "__pycache__")}
for f in files:  # an editable install maps its packages in a generated finder module
    if f.name.startswith("__editable__") and f.suffix == ".py":
        top.discard(f.stem)
        text = open(f.locate()).read()
        top |= set(re.findall(r"'([A-Za-z_][A-Za-z0-9_]*)': '", text))
print(json.dumps(sorted(top)))
"""


def test_installed_top_level_names_are_only_actors_and_relays(tmp_path: Path) -> None:
    # From an empty directory, so the repository's own files are not what is read.
    proc = subprocess.run(
        [sys.executable, "-c", TOP_LEVEL], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == ["actors", "relays"]

"""WSGI apps and HTTP worker scripts the chaos scenarios run.

* :func:`hello`: the WSGI app of the load scenarios (``relays.wsgi``): 200, ``hello <pid>``.
* :func:`leak`: keeps :data:`LEAK_STEP` bytes more after every request and answers its own
  RSS in KiB, so a test sees how far past ``max_worker_memory`` a worker ever got.
* :data:`GOOD_WORKER` / :data:`BROKEN_WORKER`: the two versions of a worker script a test
  writes on disk; the broken one answers the handshake, then dies (a crash loop).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

StartResponse = Callable[..., Any]

#: What the leaking app keeps per request.
LEAK_STEP = 4 << 20
#: It stops leaking there, so a server that never recycles it cannot eat the test machine.
LEAK_CAP = 40
_hoard: list[bytes] = []


def hello(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """The cheapest useful answer: who served it."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello %d" % os.getpid()]


def _rss_kib() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def leak(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """Leaks :data:`LEAK_STEP` (written, so the pages count in RSS); answers ``pid rss_kib``."""
    if len(_hoard) < LEAK_CAP:
        _hoard.append(b"\x01" * LEAK_STEP)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d %d" % (os.getpid(), _rss_kib())]


def wsgi_cmd(app: str) -> list[str]:
    """argv running ``tests.chaos.apps:<app>`` under the WSGI adapter."""
    return [sys.executable, "-m", "relays.wsgi", "--chdir", str(REPO), f"tests.chaos.apps:{app}"]


_PRELUDE = f"""
import os, sys
sys.path.insert(0, {str(REPO)!r})
from relays.http import HttpWorker
from relays.worker import Worker
"""

GOOD_WORKER = (
    _PRELUDE
    + """
http = HttpWorker()
while (request := http.wait_request()) is not None:
    http.respond(200, b"fixed %d" % os.getpid(), {"Content-Type": ["text/plain"]})
"""
)

BROKEN_WORKER = (
    _PRELUDE
    + """
worker = Worker.create()
worker._control(worker._read())  # answer the pid handshake: the server sees a good worker
sys.stderr.write("broken worker: dying right after the handshake\\n")
os._exit(1)
"""
)

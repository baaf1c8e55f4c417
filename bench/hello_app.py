"""The WSGI hello app both sides of ``bench/http.py`` serve.

It is byte for byte the response of ``shared/baselines/app.py`` (the app the
gunicorn figures were taken with), so the only thing that differs between
the two servers is the server.  Standard library only: it runs in
Greenrunner's worker processes and in gunicorn's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["app"]

BODY = b"Hello, World!"
# Built once: the benchmark measures the servers, not header formatting in the app.
HEADERS = [("Content-Type", "text/plain"), ("Content-Length", str(len(BODY)))]


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """Answer every request with ``Hello, World!`` and an explicit Content-Length.

    A list body with a Content-Length lets both servers send the response in
    one write and keep the connection alive, as wrk expects.
    """
    start_response("200 OK", list(HEADERS))
    return [BODY]

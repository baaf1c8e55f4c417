"""The WSGI app of tests/http/test_review_plugin.py (``tests.http.review_apps:app``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """``/environ``: what PEP 3333 says the app sees; ``/latin1-header``: a latin-1 header."""
    if environ["PATH_INFO"] == "/latin1-header":
        # PEP 3333: header values are str holding bytes as latin-1; this one is the UTF-8
        # encoding of "é" (bytes c3 a9), the second one a lone latin-1 byte e9.
        start_response("200 OK", [("X-Utf8", "caf\u00c3\u00a9"), ("X-Latin1", "caf\xe9")])
        return [b"ok"]
    keys = ("PATH_INFO", "QUERY_STRING", "HTTP_X_NAME")
    body = json.dumps({k: environ.get(k) for k in keys}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]

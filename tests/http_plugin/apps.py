"""WSGI apps for the end-to-end tests: ``python -m relays.wsgi tests.http_plugin.apps:NAME``.

Like tests/workers/http_app.py they compute what the test checks inside the worker, from
what a WSGI application sees (``environ``, ``wsgi.input``), so the adapter is tested too.
"""

from __future__ import annotations

import email.parser
import email.policy
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs

Environ = dict[str, Any]
StartResponse = Callable[..., Any]

_ENVIRON_KEYS = (
    "REQUEST_METHOD",
    "PATH_INFO",
    "QUERY_STRING",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_PROTOCOL",
    "REMOTE_ADDR",
    "CONTENT_TYPE",
    "CONTENT_LENGTH",
    "HTTP_HOST",
    "HTTP_X_MULTI",
    "HTTP_COOKIE",
    "wsgi.url_scheme",
)


def _json(start_response: StartResponse, data: Any) -> list[bytes]:
    body = json.dumps(data).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def _body(environ: Environ) -> bytes:
    return environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))


def _files(environ: Environ) -> dict[str, Any]:
    """Parse multipart from the body the adapter rebuilt, as a framework would."""
    body = _body(environ)
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + environ["CONTENT_TYPE"].encode() + b"\r\n\r\n" + body
    )
    fields, files = {}, []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        if part.get_filename() is None:
            fields[name] = payload.decode()
        else:
            files.append(
                {
                    "field": name,
                    "filename": part.get_filename(),
                    "type": part.get_content_type(),
                    "size": len(payload),
                    "sha256": hashlib.sha256(payload).hexdigest(),
                }
            )
    return {"fields": fields, "files": files}


def _stream(start_response: StartResponse, n: int) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    for i in range(n):
        yield f"wsgi-{i}\n".encode()


def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """One route per test: /environ, /stream?n=N, /form, /boom."""
    path = environ["PATH_INFO"]
    query = parse_qs(environ["QUERY_STRING"])
    if path == "/environ":
        data = {k: environ.get(k) for k in _ENVIRON_KEYS}
        data["body_sha256"] = hashlib.sha256(_body(environ)).hexdigest()
        data["pid"] = os.getpid()
        return _json(start_response, data)
    if path == "/stream":
        return _stream(start_response, int(query.get("n", ["100"])[0]))
    if path == "/form":
        return _json(start_response, _files(environ))
    if path == "/boom":
        raise RuntimeError("boom from tests.http_plugin.apps")
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not found"]


def header_bytes(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """Non-ASCII header bytes both ways, as PEP 3333 says an app sees and sends them.

    ``/environ``: the request's ``X-Name`` header as the app sees it (JSON);
    ``/latin1-header``: response headers holding bytes as latin-1 characters.
    """
    if environ["PATH_INFO"] == "/latin1-header":
        # PEP 3333: header values are str holding bytes as latin-1; this one is the UTF-8
        # encoding of "é" (bytes c3 a9), the second one a lone latin-1 byte e9.
        start_response("200 OK", [("X-Utf8", "caf\u00c3\u00a9"), ("X-Latin1", "caf\xe9")])
        return [b"ok"]
    keys = ("PATH_INFO", "QUERY_STRING", "HTTP_X_NAME")
    return _json(start_response, {k: environ.get(k) for k in keys})

"""A tiny WSGI application to try Greenrunner with: ``python -m relays.wsgi examples.hello:app``.

Routes:

* ``/``        ``Hello from Greenrunner``
* ``/stream``  five chunks, sent as they are produced (a streamed response)
* ``/form``    the submitted form as the application sees it, in JSON
  (fields and files, file contents base64-encoded): shows that the
  adapter hands a url-encoded or multipart body to the app even though
  the server sent a parsed form
* ``/env``     a few PEP 3333 environ values, in JSON
* ``/write``   a body written through the legacy ``write()`` callable
* ``/boom``    raises, to see the 500 and the traceback on stderr

Standard library only, like any worker code.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["app"]

Environ = dict[str, Any]
StartResponse = Callable[..., Any]


def _json(start_response: StartResponse, data: Any, status: str = "200 OK") -> list[bytes]:
    body = json.dumps(data, sort_keys=True).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    )
    return [body]


def _read_form(environ: Environ) -> dict[str, Any]:
    """Parse the body the way a framework would: from wsgi.input and CONTENT_TYPE."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    content_type = environ.get("CONTENT_TYPE", "")
    fields: list[list[str]] = []
    files: list[dict[str, str]] = []
    if content_type.startswith("multipart/form-data"):
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            filename = part.get_filename()
            payload = part.get_payload(decode=True) or b""
            if filename is None:
                fields.append([name, payload.decode()])
            else:
                files.append(
                    {
                        "field": name,
                        "filename": filename,
                        "type": part.get_content_type(),
                        "content": base64.b64encode(payload).decode(),
                    }
                )
    else:
        fields = [[k, v] for k, v in parse_qsl(body.decode(), keep_blank_values=True)]
    return {"content_type": content_type, "fields": fields, "files": files}


def _stream(start_response: StartResponse) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    for i in range(5):
        yield f"chunk {i}\n".encode()
        time.sleep(0.01)


def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """The WSGI entry point."""
    path = environ.get("PATH_INFO", "/")
    if path == "/":
        body = b"Hello from Greenrunner"
        start_response(
            "200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
        )
        return [body]
    if path == "/stream":
        return _stream(start_response)
    if path == "/form":
        return _json(start_response, _read_form(environ))
    if path == "/env":
        keys = (
            "REQUEST_METHOD",
            "SCRIPT_NAME",
            "PATH_INFO",
            "QUERY_STRING",
            "SERVER_NAME",
            "SERVER_PORT",
            "SERVER_PROTOCOL",
            "REMOTE_ADDR",
            "CONTENT_TYPE",
            "CONTENT_LENGTH",
            "HTTP_HOST",
            "HTTP_USER_AGENT",
            "HTTP_COOKIE",
            "wsgi.url_scheme",
            "wsgi.multithread",
            "wsgi.multiprocess",
            "wsgi.run_once",
        )
        return _json(start_response, {k: environ.get(k) for k in keys})
    if path == "/write":
        write = start_response("201 Created", [("Content-Type", "text/plain")])
        write(b"written ")
        return [b"and returned"]
    if path == "/boom":
        raise RuntimeError("boom from examples.hello")
    return _json(start_response, {"error": "not found", "path": path}, "404 Not Found")

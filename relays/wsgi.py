"""Run any WSGI application as a Greenrunner (or RoadRunner) http worker.

::

    python -m relays.wsgi package.module:app          # a WSGI callable
    python -m relays.wsgi package.module:create_app() # a factory, called once

The current directory is put on ``sys.path`` first (as gunicorn does), so
``server.command: "python -m relays.wsgi myproject.wsgi:application"``
works from the project root.

Forms: with ``http.raw_body: false`` (the default) the server does not send
the form body but a JSON tree of it, and upload temp files.  Applications
expect a body, so the adapter rebuilds one: url-encoded forms are re-encoded
from the tree, multipart forms are rebuilt from the fields and the uploaded
files (read during the request; the server deletes them afterwards).  The
tree keeps only what PHP would see: field order is lost and a repeated
plain key (``a=1&a=2``) keeps its last value, so an application that needs
the original bytes should run with ``http.raw_body: true``.  The decoded
request stays available as ``environ["greenrunner.request"]``.

Standard library only: this runs inside worker processes.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import io
import os
import secrets
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import unquote_to_bytes, urlencode, urlsplit

from relays.http import HttpWorker, Request, RequestDecodeError

__all__ = [
    "build_environ",
    "encode_multipart",
    "encode_urlencoded",
    "flatten_form",
    "handle_request",
    "load_app",
    "main",
    "serve",
]

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_INTERNAL_ERROR = b"Internal Server Error"
_UPLOAD_KEYS = frozenset(("name", "mime", "size", "error", "tmpName"))


# ---------------------------------------------------------------- loading


def load_app(spec: str) -> WSGIApp:
    """Import ``module:attr`` (default attr ``application``); ``attr(...)`` is called.

    Factory arguments may be Python literals: ``app:create_app("prod")``.
    """
    module_name, _, attr = spec.partition(":")
    attr = attr.strip() or "application"
    module = importlib.import_module(module_name.strip())
    call_args: tuple[Any, ...] | None = None
    call_kwargs: dict[str, Any] = {}
    if attr.endswith(")") and "(" in attr:
        attr, _, arg_text = attr.partition("(")
        try:
            call = ast.parse(f"f({arg_text}", mode="eval").body
        except SyntaxError as exc:
            raise ValueError(f"cannot parse factory arguments in {spec!r}: {exc}") from None
        assert isinstance(call, ast.Call)
        call_args = tuple(ast.literal_eval(a) for a in call.args)
        call_kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords if k.arg}
    obj: Any = module
    for part in attr.strip().split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"{module_name!r} has no attribute {attr!r} ({spec!r})") from None
    if call_args is not None:
        obj = obj(*call_args, **call_kwargs)
    if not callable(obj):
        raise ValueError(f"{spec!r} is not a WSGI callable: {obj!r}")
    return obj


# ---------------------------------------------------------------- forms back to bodies


def _is_upload(node: Any) -> bool:
    return isinstance(node, dict) and node.keys() == _UPLOAD_KEYS


def flatten_form(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Walk a form or uploads tree back to ``(field name, leaf)`` pairs.

    ``{"a":{"b":"1"},"l":["x","y"]}`` -> ``a[b]=1, l[]=x, l[]=y``: feeding the
    pairs to the server again rebuilds the same tree.  Keys come sorted, as
    they are in the tree.
    """
    for key, value in tree.items():
        name = f"{prefix}[{key}]" if prefix else key
        if isinstance(value, dict) and not _is_upload(value):
            yield from flatten_form(value, name)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict) and not _is_upload(item):
                    yield from flatten_form(item, f"{name}[]")
                else:
                    yield f"{name}[]", item
        else:
            yield name, value


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else ""
    return value if isinstance(value, str) else str(value)


def encode_urlencoded(tree: Mapping[str, Any]) -> bytes:
    """Re-encode a parsed url-encoded form (a JSON tree) as a request body."""
    pairs = [(name, _scalar(v)) for name, v in flatten_form(tree)]
    return urlencode(pairs, encoding="utf-8", errors="surrogateescape").encode("ascii")


def _quote_header_param(value: str) -> str:
    # The WHATWG form-data encoding browsers use for names and file names.
    return value.replace("\r", "%0D").replace("\n", "%0A").replace('"', "%22")


def encode_multipart(
    fields: Mapping[str, Any], uploads: Mapping[str, Any], boundary: str | None = None
) -> tuple[bytes, str]:
    """Rebuild a ``multipart/form-data`` body; return ``(body, content_type)``.

    Field parts come from the data tree, file parts from the uploads tree
    with their content read from ``tmpName``.  A file the server rejected
    (forbidden extension, no temp dir, write failure) is left out: the
    application would otherwise see an empty file it never received; one
    sent without a file (error 4) becomes an empty part with ``filename=""``,
    which is what the browser sent.
    """
    boundary = boundary or "greenrunner" + secrets.token_hex(12)
    dash = b"--" + boundary.encode("ascii")
    out = io.BytesIO()
    for name, value in flatten_form(fields):
        out.write(dash + b"\r\n")
        out.write(
            f'Content-Disposition: form-data; name="{_quote_header_param(name)}"\r\n\r\n'.encode(
                "utf-8", "surrogateescape"
            )
        )
        out.write(_scalar(value).encode("utf-8", "surrogateescape"))
        out.write(b"\r\n")
    for name, leaf in flatten_form(uploads):
        if not _is_upload(leaf):
            continue
        error = leaf.get("error")
        if error == 0:
            content = b""
            tmp = leaf.get("tmpName") or ""
            if tmp:
                try:
                    with open(tmp, "rb") as fh:
                        content = fh.read()
                except OSError as exc:
                    print(
                        f"wsgi: cannot read upload {tmp!r} for field {name!r}: {exc}",
                        file=sys.stderr,
                        flush=True,
                    )
                    continue
        elif error == 4:
            content = b""
        else:
            continue
        filename = _quote_header_param(_scalar(leaf.get("name")))
        mime = _scalar(leaf.get("mime")) or "application/octet-stream"
        out.write(dash + b"\r\n")
        out.write(
            (
                f'Content-Disposition: form-data; name="{_quote_header_param(name)}"; '
                f'filename="{filename}"\r\nContent-Type: {mime}\r\n\r\n'
            ).encode("utf-8", "surrogateescape")
        )
        out.write(content)
        out.write(b"\r\n")
    out.write(dash + b"--\r\n")
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


# ---------------------------------------------------------------- environ


def _request_body(request: Request) -> tuple[bytes, str | None]:
    """The body the application reads, and a replacement Content-Type if any."""
    content_type = request.header("Content-Type") or ""
    if request.parsed is None:
        return request.body, None
    if "multipart/form-data" in content_type:
        return encode_multipart(request.parsed, request.uploads)
    return encode_urlencoded(request.parsed), None


def _native(value: str) -> str:
    """PEP 3333 "bytes as latin-1" form of a header value or query string.

    The server decoded the wire bytes as UTF-8; frameworks expect each byte
    as one latin-1 character (and re-decode paths and values themselves).
    """
    if value.isascii():
        return value
    return value.encode("utf-8", "surrogateescape").decode("latin-1")


def build_environ(request: Request, errors: Any = None) -> dict[str, Any]:
    """A PEP 3333 environ for ``request``.

    ``PATH_INFO`` is the percent-decoded path as latin-1 text (PEP 3333's
    "bytes in a str"), ``SCRIPT_NAME`` is empty.  Header values of a
    repeated header are joined with ``,`` (``;`` for ``Cookie``); header
    names containing ``_`` are dropped, as gunicorn and nginx do, so they
    cannot pose as ``HTTP_X_FOO`` set by a proxy from ``X-Foo``.
    """
    split = urlsplit(request.uri)
    scheme = split.scheme or "http"
    body, content_type = _request_body(request)
    path = split.path or "/"
    try:
        port = split.port
    except ValueError:
        port = None
    target = _native(path + ("?" + request.query if request.query else ""))
    environ: dict[str, Any] = {
        "REQUEST_METHOD": request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
        "QUERY_STRING": _native(request.query),
        "REQUEST_URI": target,
        "RAW_URI": target,
        "SERVER_NAME": split.hostname or "localhost",
        "SERVER_PORT": str(port or (443 if scheme == "https" else 80)),
        "SERVER_PROTOCOL": request.protocol or "HTTP/1.1",
        "REMOTE_ADDR": request.remote_addr,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": errors if errors is not None else sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "greenrunner.request": request,
    }
    if split.netloc:
        environ["HTTP_HOST"] = _native(split.netloc)
    for name, values in request.headers.items():
        if "_" in name or not values:
            continue
        upper = name.upper()
        if upper == "CONTENT-TYPE":
            environ["CONTENT_TYPE"] = _native(values[0])
            continue
        if upper == "CONTENT-LENGTH":
            continue
        joined = ("; " if upper == "COOKIE" else ",").join(values)
        environ["HTTP_" + upper.replace("-", "_")] = _native(joined)
    if content_type is not None:
        environ["CONTENT_TYPE"] = content_type
    if body or request.header("Content-Length") is not None:
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


# ---------------------------------------------------------------- running the app


class _Response:
    """What ``start_response`` and ``write`` collected for one request."""

    __slots__ = ("headers", "sent", "status", "written")

    def __init__(self) -> None:
        self.status: int | None = None
        self.headers: dict[str, list[str]] = {}
        self.written: list[bytes] = []
        self.sent = False

    def start_response(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: Any = None,
    ) -> Callable[[bytes], None]:
        if exc_info:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response() called twice without exc_info")
        code = status.split(" ", 1)[0]
        if len(code) != 3 or not code.isdigit():
            raise ValueError(f"invalid WSGI status {status!r}")
        if code[0] == "1":
            # WSGI has no way to send a 1xx ahead of the response: this would be the final one.
            raise ValueError(f"a WSGI response cannot have an informational status: {status!r}")
        grouped: dict[str, list[str]] = {}
        for name, value in headers:
            grouped.setdefault(name, []).append(_header_text(value))
        self.status = int(code)
        self.headers = grouped
        return self.write

    def write(self, data: bytes) -> None:
        if self.status is None:
            raise AssertionError("write() called before start_response()")
        self.written.append(bytes(data))


def _header_text(value: str) -> str:
    """A PEP 3333 header value (bytes as latin-1 characters) as the text the server sends.

    The response context is JSON text and the server writes header text as UTF-8, the way
    Go writes a PHP header string.  So the bytes ``c3 a9`` (``"Ã©"`` here) go back to ``"é"``.
    Bytes that are not UTF-8 cannot cross a JSON context: they are sent as the latin-1
    characters they stand for (``e9`` leaves as ``"é"``, i.e. ``c3 a9``).
    """
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _log_exception(request: Request, stage: str) -> None:
    exc = sys.exc_info()[1]
    sys.stderr.write(
        f"wsgi: error {stage} {request.method} {request.path}: "
        f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}"
    )
    sys.stderr.flush()


def _internal_error(http: HttpWorker) -> None:
    http.respond(500, _INTERNAL_ERROR, {"Content-Type": ["text/plain; charset=utf-8"]})


def _close(result: Any, request: Request) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        try:
            close()
        except Exception:
            _log_exception(request, "closing the response of")


def handle_request(app: WSGIApp, http: HttpWorker, request: Request) -> None:
    """Run ``app`` for one request and answer it (always exactly once).

    A list/tuple body, or an iterable of at most one chunk, goes out as one
    frame; a longer iterable is streamed as the chunks come.  ``write()``
    output is queued and sent, in order, ahead of the iterable's chunks.
    ``close()`` on the result is always called.  An exception before the
    first byte is sent becomes a 500 ``Internal Server Error`` (traceback on
    stderr); during a stream the stream is ended and the error logged.
    """
    response = _Response()
    result: Any = None
    try:
        environ = build_environ(request)
        result = app(environ, response.start_response)
        if isinstance(result, list | tuple):
            chunks = [*response.written, *(bytes(c) for c in result)]
            stream: Iterator[bytes] | None = None
        else:
            iterator = iter(result)
            first = next(iterator, None)
            second = next(iterator, None) if first is not None else None
            chunks = list(response.written)
            if first is not None:
                chunks.append(bytes(first))
            response.written = []
            stream = None
            if second is not None:
                chunks.append(bytes(second))
                stream = iterator
        if response.status is None:
            raise RuntimeError("the application returned without calling start_response()")
    except Exception:
        _log_exception(request, "in the application for")
        _close(result, request)
        _internal_error(http)
        return
    response.sent = True
    try:
        if stream is None:
            http.respond(response.status, b"".join(chunks), response.headers)
        else:
            http.respond(response.status, _chain(chunks, stream, response), response.headers)
    except Exception:
        _log_exception(request, "while streaming the response of")
    finally:
        _close(result, request)


def _chain(head: list[bytes], rest: Iterator[Any], response: _Response) -> Iterator[bytes]:
    yield from head
    for chunk in rest:
        if response.written:
            # write() called again while iterating: keep the byte order.
            pending, response.written = response.written, []
            yield from pending
        yield bytes(chunk)
    if response.written:
        yield from response.written


def serve(app: WSGIApp, http: HttpWorker | None = None) -> None:
    """Serve requests until the server stops this worker."""
    http = http if http is not None else HttpWorker()
    while True:
        try:
            request = http.wait_request()
        except RequestDecodeError as exc:
            print(f"wsgi: cannot decode the request: {exc}", file=sys.stderr, flush=True)
            http.error(f"wsgi worker: cannot decode the request: {exc}")
            continue
        if request is None:
            return
        handle_request(app, http, request)


def main(argv: list[str] | None = None) -> int:
    """``python -m relays.wsgi module:app``: connect first, then import the app.

    The relay is set up before the import so that anything the application
    prints while loading goes to stderr, not into the pipes relay.
    """
    parser = argparse.ArgumentParser(
        prog="python -m relays.wsgi",
        description="Run a WSGI application as a Greenrunner/RoadRunner http worker.",
    )
    parser.add_argument(
        "app", help="module:callable or module:factory() (default attribute 'application')"
    )
    parser.add_argument("--chdir", help="change to this directory before importing the app")
    args = parser.parse_args(argv)
    if args.chdir:
        os.chdir(args.chdir)
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    http = HttpWorker()
    try:
        app = load_app(args.app)
    except Exception:
        sys.stderr.write(
            f"wsgi: cannot load the application {args.app!r}:\n{traceback.format_exc()}"
        )
        sys.stderr.flush()
        return 1
    try:
        serve(app, http)
    except KeyboardInterrupt:
        # Ctrl+C in the terminal that runs the server reaches the whole group.
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The Python http worker SDK: the counterpart of PHP's ``spiral/roadrunner-http``.

A worker loops on :meth:`HttpWorker.wait_request` and answers each request
with :meth:`HttpWorker.respond`::

    from relays.http import HttpWorker

    http = HttpWorker()
    while (request := http.wait_request()) is not None:
        http.respond(200, b"hello " + request.path.encode(), {"Content-Type": "text/plain"})

A body given as an iterable is streamed, one frame per chunk, exactly like
PHP's ``respond($status, Generator $body)``; :meth:`respond_informational`
sends a 1xx (103 Early Hints) ahead of the final response.

The request context is decoded in whichever shape the server sent: the JSON
context Greenrunner (and RoadRunner <= 2023.3) sends, or the protobuf
``http.v1.Request`` of RoadRunner >= 2024.1, so the same worker also runs
under a stock ``rr`` binary.  The answer uses the codec of the request, as
PHP does.  Standard library only: this runs inside worker processes.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from relays import proto
from relays.errors import StreamStopped
from relays.frame import CODEC_JSON, CODEC_PROTO
from relays.payload import Payload
from relays.worker import Worker

__all__ = [
    "HttpWorker",
    "Request",
    "RequestDecodeError",
    "StreamStopped",
    "decode_proto_request",
    "encode_proto_response",
    "encode_response_context",
]

HeadersArg = Mapping[str, Iterable[str] | str] | None


class RequestDecodeError(ValueError):
    """The server sent a request this SDK cannot decode.

    Raised by :meth:`HttpWorker.wait_request` with nothing answered yet, so
    the caller can :meth:`HttpWorker.error` it and keep serving.
    """


@dataclass(slots=True)
class Request:
    """One http request, as the server described it.

    ``uri`` is absolute (``http://host/path?q``); ``path`` is its raw
    (still percent-encoded) path and ``query`` the raw query string.
    ``headers`` maps canonical names (``Content-Type``) to every value.
    ``parsed`` is the form tree (a dict) when the server parsed an
    url-encoded or multipart body (``http.raw_body: false``), else None;
    ``body`` is always what came on the wire (the JSON of that tree when
    parsed).  ``uploads`` is the file tree: leaves are
    ``{"name","mime","size","error","tmpName"}`` and the temp files are
    deleted by the server once the response is sent.
    """

    method: str
    uri: str
    path: str
    query: str
    headers: dict[str, list[str]]
    cookies: dict[str, str]
    remote_addr: str
    protocol: str
    body: bytes
    parsed: dict[str, Any] | None = None
    uploads: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    codec: int = CODEC_JSON

    def header(self, name: str, default: str | None = None) -> str | None:
        """First value of a header, looked up case-insensitively."""
        values = self.headers.get(name)
        if values is None:
            lowered = name.lower()
            for key, vals in self.headers.items():
                if key.lower() == lowered:
                    values = vals
                    break
        return values[0] if values else default

    def query_params(self) -> dict[str, list[str]]:
        """The query string parsed into name -> values (blank values kept)."""
        return parse_qs(self.query, keep_blank_values=True)


# ---------------------------------------------------------------- protobuf (RR >= 2024.1)


def _map_entry(entry: bytes) -> tuple[str, list[str]]:
    key, values = proto.decode_header_map_entry(entry)
    return (
        key.decode("utf-8", "surrogateescape"),
        [v.decode("utf-8", "surrogateescape") for v in values],
    )


def decode_proto_request(context: bytes) -> dict[str, Any]:
    """Decode ``http.v1.Request`` into the JSON context's shape.

    Mirrors the PHP library's mapping: cookie values joined with ``,``,
    attributes keep their first value, ``uploads`` is JSON text.
    """
    ctx: dict[str, Any] = {
        "remoteAddr": "",
        "protocol": "",
        "method": "",
        "uri": "",
        "headers": {},
        "cookies": {},
        "rawQuery": "",
        "parsed": False,
        "uploads": None,
        "attributes": {},
    }
    strings = {1: "remoteAddr", 2: "protocol", 3: "method", 4: "uri", 7: "rawQuery"}
    try:
        parsed = list(proto.fields(context))
    except proto.ProtoError as exc:
        raise RequestDecodeError(f"protobuf request context: {exc}") from None
    for number, wire, value in parsed:
        if isinstance(value, int):  # varints: only ``parsed`` is one
            if wire == 0 and number == 8:
                ctx["parsed"] = bool(value)
        elif wire == 2 and number in strings:
            ctx[strings[number]] = value.decode("utf-8", "surrogateescape")
        elif wire == 2 and number == 5:
            key, values = _map_entry(value)
            ctx["headers"][key] = values
        elif wire == 2 and number == 6:
            key, values = _map_entry(value)
            ctx["cookies"][key] = ",".join(values)
        elif wire == 2 and number == 9:
            try:
                ctx["uploads"] = json.loads(value) if value else None
            except ValueError as exc:
                raise RequestDecodeError(f"uploads field is not JSON: {exc}") from None
        elif wire == 2 and number == 10:
            key, values = _map_entry(value)
            ctx["attributes"][key] = values[0] if values else None
    return ctx


def encode_proto_response(status: int, headers: Mapping[str, list[str]]) -> bytes:
    """Encode ``http.v1.Response{status, headers}`` (what PHP's proto mode sends)."""
    out = bytearray()
    if status:
        proto.put_varint(out, 0x08)
        proto.put_varint(out, status)
    proto.encode_header_map(
        out,
        2,
        [
            (
                name.encode("utf-8", "surrogateescape"),
                [v.encode("utf-8", "surrogateescape") for v in values],
            )
            for name, values in headers.items()
        ],
    )
    return bytes(out)


def _normalise_headers(headers: HeadersArg) -> dict[str, list[str]]:
    if not headers:
        return {}
    result: dict[str, list[str]] = {}
    for name, values in headers.items():
        if isinstance(values, str):
            result[str(name)] = [values]
        else:
            result[str(name)] = [str(v) for v in values]
    return result


def encode_response_context(
    status: int, headers: Mapping[str, list[str]], codec: int = CODEC_JSON
) -> bytes:
    """The response context: ``{"status":N,"headers":{...}}`` or its protobuf form."""
    if codec == CODEC_PROTO:
        return encode_proto_response(status, headers)
    return json.dumps(
        {"status": status, "headers": dict(headers)}, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8", "surrogateescape")


# ---------------------------------------------------------------- the worker


def _text_map(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class HttpWorker:
    """An http worker on top of :class:`relays.worker.Worker`.

    One request at a time.  For each request answer exactly once: one
    :meth:`respond` (after any number of :meth:`respond_informational`) or
    one :meth:`error`.
    """

    def __init__(self, worker: Worker | None = None) -> None:
        self.worker = worker if worker is not None else Worker.create()
        self._codec = CODEC_JSON
        # Frames already sent for the current request: once a stream is open
        # an error frame would be read as the answer to the *next* request.
        self._started = False

    def wait_request(self) -> Request | None:
        """Block until the next request; None means the worker must exit.

        Raises :class:`RequestDecodeError` for a request it cannot decode
        (answer it with :meth:`error` and keep looping).
        """
        payload = self.worker.wait_payload()
        self._started = False
        if payload is None or (not payload.body and not payload.context):
            # An empty payload is PHP's "terminate" convention.
            return None
        context = payload.context
        if context.lstrip(b" \t\r\n")[:1] == b"{":
            self._codec = CODEC_JSON
            try:
                ctx = json.loads(context)
            except ValueError as exc:
                raise RequestDecodeError(f"request context is not valid JSON: {exc}") from None
            if not isinstance(ctx, dict):
                raise RequestDecodeError("request context is not a JSON object")
        else:
            self._codec = CODEC_PROTO
            ctx = decode_proto_request(context)
        body = payload.body
        parsed_flag = bool(ctx.get("parsed"))
        parsed: dict[str, Any] | None = None
        if parsed_flag:
            try:
                tree = json.loads(body) if body else {}
            except ValueError as exc:
                raise RequestDecodeError(f"parsed request body is not JSON: {exc}") from None
            parsed = tree if isinstance(tree, dict) else {}
        uri = str(ctx.get("uri") or "")
        split = urlsplit(uri)
        headers = {
            k: ([v] if isinstance(v, str) else [x for x in v if isinstance(x, str)])
            for k, v in _text_map(ctx.get("headers")).items()
            if isinstance(k, str) and k and isinstance(v, str | list)
        }
        return Request(
            method=str(ctx.get("method") or ""),
            uri=uri,
            path=split.path or "/",
            query=str(ctx.get("rawQuery") or ""),
            headers=headers,
            cookies={k: str(v) for k, v in _text_map(ctx.get("cookies")).items()},
            remote_addr=str(ctx.get("remoteAddr") or ""),
            protocol=str(ctx.get("protocol") or ""),
            body=body,
            parsed=parsed,
            uploads=_text_map(ctx.get("uploads")),
            attributes=_text_map(ctx.get("attributes")),
            codec=self._codec,
        )

    def _send(
        self,
        status: int,
        headers: Mapping[str, list[str]],
        body: bytes,
        end_of_stream: bool,
        informational: bool = False,
    ) -> None:
        context = encode_response_context(status, headers, self._codec)
        if not informational:
            self._started = True
        self.worker.respond(Payload(body, context), end_of_stream=end_of_stream, codec=self._codec)

    def respond(
        self,
        status: int,
        body: bytes | bytearray | memoryview | str | Iterable[bytes] = b"",
        headers: HeadersArg = None,
    ) -> bool:
        """Send the response; an iterable body is streamed chunk by chunk.

        A streamed body sends one STREAM frame per chunk, each carrying the
        status and headers again (PHP does the same), then a closing frame
        with an empty body.  Returns False when the server stopped the stream
        (the client went away): the iterable is closed and the SDK has
        already ended the stream.  If the iterable raises mid-stream, the
        stream is closed first and the exception re-raised; the request is
        answered then, so do not call :meth:`error` for it.

        A 1xx status is sent as :meth:`respond_informational` does (it cannot be the final
        answer: a final frame would end the request, and the real answer would then be read
        as the answer to the next request); it must have no body.
        """
        if 100 <= status < 200:
            if body or not isinstance(body, bytes | bytearray | memoryview | str):
                raise ValueError("an informational (1xx) response cannot have a body")
            self.respond_informational(status, headers)
            return True
        hdrs = _normalise_headers(headers)
        if isinstance(body, str):
            body = body.encode("utf-8")
        if isinstance(body, bytes | bytearray | memoryview):
            self._send(status, hdrs, bytes(body), True)
            return True
        return self._stream(status, hdrs, body)

    def _stream(self, status: int, headers: dict[str, list[str]], body: Iterable[bytes]) -> bool:
        iterator = iter(body)
        try:
            for chunk in iterator:
                if isinstance(chunk, str):
                    chunk = chunk.encode("utf-8")
                try:
                    self._send(status, headers, bytes(chunk), False)
                except StreamStopped:
                    return False
        except StreamStopped:
            # Raised from inside the iterable by a nested respond(): same meaning.
            return False
        except BaseException:
            if self._started:
                # Close the stream so the relay stays in step, then let the caller log.
                self._send(status, headers, b"", True)
            raise
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
            if iterator is not body:
                close_body = getattr(body, "close", None)
                if close_body is not None:
                    close_body()
        self._send(status, headers, b"", True)
        return True

    def respond_informational(self, status: int, headers: HeadersArg = None) -> None:
        """Send a 1xx response (103 Early Hints) ahead of the final one.

        One STREAM frame with an empty body, as PHP's ``respond(103, '',
        $headers, endOfStream: false)``; then call :meth:`respond`.
        """
        if not 100 <= status < 200:
            raise ValueError(f"informational responses are 1xx, got {status}")
        self._send(status, _normalise_headers(headers), b"", False, informational=True)

    def error(self, message: str) -> None:
        """Fail the current request: the server answers ``internal_error_code``
        (500) and keeps this worker.

        Ignored (and written to stderr instead) once a response was started:
        the server has moved on, an error frame would answer the next request.
        """
        if self._started:
            print(
                f"http worker: error after the response was started: {message}",
                file=sys.stderr,
                flush=True,
            )
            return
        self._started = True
        self.worker.error(message)

    def stop(self) -> None:
        """Ask the server to replace this worker; keep calling :meth:`wait_request`."""
        self.worker.stop()

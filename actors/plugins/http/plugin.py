"""The http plugin: an actor that owns the listener and its pool.

Lifecycle goes through :class:`HttpPluginActor` (start the pool, start the
listener, stop in that order reversed).  Requests do not: each connection
greenlet of :class:`~actors.plugins.http.server.listener.HttpServer` calls
:meth:`HttpPlugin.handle`, which runs the pool request in that greenlet.
"""

from __future__ import annotations

import errno
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gevent

from actors.config.model import Http2Config
from actors.errors import (
    NoFreeWorkersError,
    PoolError,
    PoolStoppedError,
    QueueFullError,
)
from actors.freelist import Cancelled
from actors.plugins.http.context.body import prepare_body
from actors.plugins.http.context.header_keys import canonical_header_key
from actors.plugins.http.context.request import (
    build_request_context,
    encode_plain_context,
    wire_header_section,
    wire_text,
)
from actors.plugins.http.context.response import (
    ResponseContextError,
    UnknownStatusError,
    parse_response_context,
)
from actors.plugins.http.forms.errors import FormError
from actors.plugins.http.middleware import build_chain
from actors.plugins.http.server.listener import Handler, HttpServer
from actors.plugins.http.server.redirect import redirect_handler
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.tls import server_context
from actors.plugins.http.server.writer import Writer
from actors.pool import ResponseStream
from actors.runtime import GeventActor
from relays.frame import CODEC_JSON
from relays.payload import Payload

if TYPE_CHECKING:
    from actors.config.model import HttpConfig
    from actors.metrics import HttpMetrics
    from actors.pool import Pool
    from actors.system import ActorSystem

__all__ = ["HttpPlugin", "HttpPluginActor"]

log = logging.getLogger("greenrunner.http")

MIB = 1024 * 1024
#: RoadRunner's fixed ReadTimeout (servers/http11): a whole request, body included, may take
#: 5 minutes to arrive.  The body is read before a worker is taken, so this costs no worker.
_READ_TIMEOUT = 300.0
_TEXT = [("Content-Type", "text/plain; charset=utf-8")]


class HttpPlugin:
    """Request handling for one ``http`` section, shared by all connections."""

    def __init__(self, system: ActorSystem, cfg: HttpConfig) -> None:
        self.system = system
        self.cfg = cfg
        self.pool: Pool | None = None
        self.server: HttpServer | None = None
        #: The ``http.ssl`` listener, when configured (``server`` is the plain one, or this one
        #: when there is no plain listener).
        self.tls_server: HttpServer | None = None
        #: The ``http_metrics`` middleware's series, when it is listed and metrics are on.
        self._http_metrics: HttpMetrics | None = None
        self.actor = HttpPluginActor.start(self)

    # -- lifecycle (through the actor) ---------------------------------------------------

    def start(self) -> None:
        """Start the pool, then the listener; raises :class:`PoolError` if either fails."""
        self.actor.proxy().serve().get()

    def stop(self, timeout: float | None = None) -> None:
        """Stop accepting, let in-flight requests finish, then destroy the pool.

        ``timeout`` (default ``pool.destroy_timeout``) bounds each of the two waits.
        """
        try:
            self.actor.proxy().shutdown(timeout).get()
        finally:
            self.actor.stop()

    @property
    def address(self) -> tuple[str, int]:
        """The address bound (the real port when ``http.address`` asked for port 0)."""
        assert self.server is not None
        return self.server.address

    @property
    def tls_address(self) -> tuple[str, int]:
        """The address the ``http.ssl`` listener bound (the real port when port 0 was asked)."""
        assert self.tls_server is not None
        return self.tls_server.address

    # -- the request path --------------------------------------------------------------

    def handler(self) -> Callable[[HttpRequest, Writer], None]:
        """The server's handler: :meth:`handle` inside the chain of ``http.middleware``
        (``actors/plugins/http/middleware/``, the last name outermost as in RoadRunner).

        Built once at start, so a middleware that is not listed costs nothing per request.
        """
        metrics = self.system.metrics
        if "http_metrics" in self.cfg.middleware and metrics is not None:
            self._http_metrics = metrics.http_metrics()
        return build_chain(self.cfg, self.handle, series=self._http_metrics)

    def handle(self, req: HttpRequest, resp: Writer) -> None:
        """Run one request through the pool and write the worker's answer (server's Handler)."""
        cfg = self.cfg
        section = wire_header_section(req.headers)
        content_type = section.content_type
        method = req.method
        if (
            method != "HEAD"
            and method != "OPTIONS"
            and (content_type is None or "form" not in content_type)
        ):
            # No form to parse (what prepare_body would conclude, without its PreparedBody and
            # cleanup): the body goes to the worker as received.
            context = encode_plain_context(
                section,
                req.remote_addr[0],
                req.version,
                method,
                req.target.decode("latin-1"),  # llhttp lets only ASCII into the target
                req.query.decode("latin-1"),
                req.scheme,
            )
            self._exec(resp, Payload(req.body, context))
            return
        try:
            prepared = prepare_body(
                req.method,
                content_type,
                req.body,
                raw_body=cfg.raw_body,
                uploads_dir=cfg.uploads.dir,
                forbid=cfg.uploads.forbid,
                allow=cfg.uploads.allow,
            )
        except FormError as exc:
            resp.start(400, _TEXT)
            resp.finish(f"bad request body: {exc}\n".encode())
            return
        try:
            context = build_request_context(
                remote_addr=req.remote_addr[0],
                protocol=req.version,
                method=req.method,
                uri=req.target.decode("latin-1"),  # llhttp lets only ASCII into the target
                headers=wire_text(req.headers),
                raw_query=req.query.decode("latin-1"),
                parsed=prepared.parsed,
                uploads=prepared.uploads,
                scheme=req.scheme,
            )
            self._exec(resp, Payload(prepared.body, context))
        finally:
            prepared.cleanup()

    def access_log(self, req: HttpRequest, status: int, written: int, elapsed: float) -> None:
        """One ``http.access_logs`` line, called by the server once the response is out."""
        log.info(
            "http access log",
            extra={
                "fields": {
                    "status": status,
                    "method": req.method,
                    "uri": req.target.decode("latin-1"),
                    "remote_address": req.remote_addr[0],
                    "write_bytes": written,
                    "elapsed_ms": round(elapsed * 1000, 3),
                }
            },
        )

    def _exec(self, resp: Writer, payload: Payload) -> None:
        pool = self.pool
        assert pool is not None, "the listener starts only once the pool exists"
        try:
            answer = pool.answer(payload, cancel=resp.client_gone)
        except Cancelled:
            # The client left while queued (its place is released): no answer at all, rather
            # than the empty 200 the server would make of a handler that wrote nothing.
            resp.abort()
            return
        except (NoFreeWorkersError, QueueFullError, PoolStoppedError) as exc:
            if self._http_metrics is not None and isinstance(exc, NoFreeWorkersError):
                self._http_metrics.no_free_workers()
            self._fail(resp, 503, exc, retry_after=True)
            return
        except PoolError as exc:
            self._fail(resp, self.cfg.internal_error_code, exc)
            return
        # The usual whole answer comes as its Payload (its worker is back in the pool already).
        # (isinstance rather than typing.cast: cast is a Python call on every request.)
        stream = answer if isinstance(answer, ResponseStream) else None
        try:
            if isinstance(answer, Payload):
                self._write_whole(resp, answer)
            elif stream is not None:
                self._relay_response(resp, stream)
        except PoolError as exc:
            self._fail(resp, self.cfg.internal_error_code, exc)
        except ResponseContextError as exc:
            if isinstance(exc, UnknownStatusError):
                # RoadRunner always answers this one as a plain 500 carrying the message.
                self._fail(resp, 500, exc, show_error=True)
            else:
                self._fail(resp, self.cfg.internal_error_code, exc)
        finally:
            if stream is not None:
                stream.close()  # a stream not read to its end is stopped, its worker released

    def _write_whole(self, resp: Writer, answer: Payload) -> None:
        """Write a whole answer: what :meth:`_relay_response` does with a one-frame stream.

        Anything but a final status without trailers (an informational or 101 status, a
        ``Trailer`` header, a writer a middleware already started) takes that general path.
        """
        context = answer.context
        if not resp.started:
            if context:
                status, headers = parse_response_context(answer.flags, context)
            else:
                status, headers = 200, ()
            if status >= 200:
                for name, _ in headers:
                    if name == "Trailer":
                        break
                else:
                    resp.start(status, headers)
                    resp.finish(answer.body)
                    return
        pool = self.pool
        assert pool is not None
        self._relay_response(resp, ResponseStream(pool, None, answer))

    def _relay_response(self, resp: Writer, stream: ResponseStream) -> None:
        trailers = None
        for chunk in stream:
            if resp.client_gone.is_set() and not chunk.end_of_stream:
                # Stop the worker's stream, and close without the last chunk: a client that only
                # half-closed must not take the cut body for a whole one.  A final answer is
                # still written (a half-closed client reads it; a gone one costs one send).
                stream.cancel()
                resp.abort()
                return
            if chunk.context and not resp.started:
                # A non-empty context always has a status in 100..599 (or raised).
                status, headers = parse_response_context(chunk.flags, chunk.context)
                if status == 101:
                    log.error("worker answered 101 Switching Protocols; not supported, dropped")
                    continue
                if status < 200:
                    # 103 Early Hints & co: their own headers only (RoadRunner v6 behaviour).
                    resp.send_informational(status, headers)
                    continue
                headers, trailers = _split_trailers(headers)
                resp.start(status, headers)
            if chunk.end_of_stream:
                # A whole response (or the last frame of a stream): finish() sends it with a
                # Content-Length in one sendall, or closes the chunked body with its data.
                if not resp.started:
                    resp.start(200, [])
                resp.finish(chunk.body, trailers)
                return
            if not resp.started:
                resp.start(200, [])
            if chunk.body:
                resp.write(chunk.body)
        resp.finish(b"", trailers)

    def _fail(
        self,
        resp: Writer,
        status: int,
        exc: Exception,
        retry_after: bool = False,
        show_error: bool = False,
    ) -> None:
        level = logging.WARNING if status == 503 else logging.ERROR
        log.log(level, "request failed", extra={"fields": {"status": status, "error": str(exc)}})
        if resp.head_sent:
            # Headers are out: the best we can do is cut the response short.
            resp.abort()
            return
        headers = list(_TEXT)
        if retry_after:
            headers.append(("Retry-After", "1"))
        if status == 503:
            body = b"Service Unavailable: " + _UNAVAILABLE.get(type(exc), b"no free workers\n")
        elif status >= 500:
            body = b"Internal Server Error\n"
        else:
            body = b""
        if show_error:
            body = str(exc).encode() + b"\n"
        elif self.cfg.pool.debug:
            body += str(exc).encode() + b"\n"
        if resp.started:
            # A stream announced its status, but nothing reached the wire: replace it.
            resp.override(status, headers)
        else:
            resp.start(status, headers)
        resp.finish(body)


#: What a 503 tells the client, by the pool error behind it.
_UNAVAILABLE: dict[type[Exception], bytes] = {
    NoFreeWorkersError: b"no free workers\n",
    QueueFullError: b"too many requests queued\n",
    PoolStoppedError: b"the server is shutting down\n",
}


def _split_trailers(
    headers: tuple[tuple[str, str], ...],
) -> tuple[tuple[tuple[str, str], ...], list[tuple[str, str]] | None]:
    """RoadRunner's ``handleProtoTrailers``: the headers named in ``Trailer`` (comma-separated)
    leave after the body instead of in the head, and ``Trailer`` itself is not sent.

    Returns ``(headers, trailers)``; ``trailers`` is None (and ``headers`` the same object, so
    the encoded head stays cached) when the worker declared none, the usual case.
    """
    for name, _ in headers:
        if name == "Trailer":
            break
    else:
        return headers, None
    named = {
        canonical_header_key(key.strip(" \t"))
        for name, value in headers
        if name == "Trailer"
        for key in value.split(",")
    }
    head = tuple(h for h in headers if h[0] != "Trailer" and h[0] not in named)
    return head, [h for h in headers if h[0] in named]


#: What to do about the usual reasons a listener cannot bind, by errno.
_LISTEN_HINTS: dict[int | None, str] = {
    errno.EADDRINUSE: "is another server running there? pick another http.address",
    errno.EADDRNOTAVAIL: "that is not an address of this host; use one of its addresses or 0.0.0.0",
    errno.EACCES: "ports below 1024 need root (or CAP_NET_BIND_SERVICE); pick a higher port",
}


class HttpPluginActor(GeventActor):
    """Owns the http listener and pool: started and stopped through messages."""

    def __init__(self, plugin: HttpPlugin) -> None:
        super().__init__()
        self.plugin = plugin

    def serve(self) -> tuple[str, int]:
        """Pool first: a listener up before its workers would answer the first requests 503.

        Then the TLS listener (``http.ssl``), then the plain one (``http.address``); either may
        be absent.  Both share the pool and the handler; with ``ssl.redirect`` the plain one
        only redirects to the TLS one.  Returns the plain address, or the TLS one without it.
        """
        plugin = self.plugin
        cfg = plugin.cfg
        context = None
        if cfg.ssl is not None:
            # Before the pool: a bad key or certificate must not cost a round of worker spawns.
            try:
                context = server_context(cfg.ssl)
            except ValueError as exc:
                raise PoolError(str(exc)) from None
        plugin.pool = plugin.system.new_pool(
            "http", cfg.pool, {"RR_MODE": "http"}, request_flags=CODEC_JSON
        )
        handler = plugin.handler()
        http2 = cfg.http2 or Http2Config()

        def listener(host: str, port: int, handle: Handler, **extra: Any) -> HttpServer:
            return HttpServer(
                host,
                port,
                handle,
                max_request_size=cfg.max_request_size * MIB,
                read_timeout=_READ_TIMEOUT,
                header_timeout=cfg.header_timeout,
                min_body_rate=cfg.min_body_rate,
                max_connections=cfg.max_connections,
                logger=log,
                max_concurrent_streams=http2.max_concurrent_streams,
                **extra,
            )

        access_log = plugin.access_log if cfg.access_logs else None
        if cfg.ssl is not None:
            tls = listener(cfg.ssl.host, cfg.ssl.port, handler, tls=context, access_log=access_log)
            _start(tls, "http.ssl.address", "https")
            plugin.tls_server = plugin.server = tls
        if cfg.address:
            if cfg.ssl is not None and cfg.ssl.redirect:
                assert plugin.tls_server is not None
                # Redirects short-circuit every middleware and the access log, as in RR.
                plain = listener(cfg.host, cfg.port, redirect_handler(plugin.tls_server.address[1]))
            else:
                plain = listener(cfg.host, cfg.port, handler, h2c=http2.h2c, access_log=access_log)
            try:
                _start(plain, "http.address", "http")
            except PoolError:
                if plugin.tls_server is not None:
                    plugin.tls_server.stop(0)
                raise
            plugin.server = plain
        assert plugin.server is not None
        return plugin.server.address

    def shutdown(self, timeout: float | None = None) -> None:
        """Listener first, so requests in flight finish on live workers, then the pool."""
        plugin = self.plugin
        budget = timeout if timeout is not None else plugin.cfg.pool.destroy_timeout
        deadline = time.monotonic() + budget  # one budget for both steps, not one each
        servers = [plugin.server, plugin.tls_server]
        if servers[0] is servers[1]:
            del servers[1]
        alive = [server for server in servers if server is not None]
        # Both listeners drain at once, within the one budget.
        gevent.joinall([gevent.spawn(server.stop, budget) for server in alive])
        if plugin.pool is not None:
            plugin.pool.destroy(max(1.0, deadline - time.monotonic()))
        gevent.sleep(0)


def _start(server: HttpServer, key: str, scheme: str) -> None:
    """Bind ``server``; a failure is a :class:`PoolError` naming the key and a likely fix."""
    host, port = server.address
    try:
        server.start()
    except OSError as exc:
        hint = _LISTEN_HINTS.get(exc.errno, f"check {key}").replace("http.address", key)
        raise PoolError(
            f"{key}: cannot listen on {host}:{port}: {exc.strerror or exc}; {hint}"
        ) from None
    log.info(
        f"{scheme} server was started",
        extra={"fields": {"address": "{}:{}".format(*server.address)}},
    )

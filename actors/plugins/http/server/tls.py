"""TLS on the HTTP front: the server context, the handshake, and HTTP/1.1 over TLS.

* :func:`server_context` builds one ``gevent.ssl.SSLContext`` from ``http.ssl``: TLS 1.2 at
  least (RoadRunner's ``tlsconf.DefaultTLSConfig``), ECDHE AEAD suites for TLS 1.2, ALPN
  offering ``h2`` then ``http/1.1``, and client certificates per ``client_auth_type``;
* :func:`serve_tls` runs in the connection greenlet: the handshake (bounded by the header
  timeout), then HTTP/2 when ALPN chose ``h2``, else a :class:`TlsConnection`;
* :class:`TlsConnection` is the HTTP/1.1 :class:`~.connection.Connection` with the two places
  that read the raw TCP socket (the eager ``recv`` and the ``client_gone`` watcher) going
  through OpenSSL instead, so the plain path keeps its raw-socket speed untouched.

The worker learns only that the request came over TLS: its URI is ``https://...``, as in
RoadRunner (``handler/request.go`` ``URI``); no client certificate field is passed, because
RoadRunner passes none.
"""

from __future__ import annotations

import contextlib
import ssl
from typing import TYPE_CHECKING, Any

import gevent
import gevent.ssl

from actors.plugins.http.server.connection import Connection
from actors.plugins.http.server.h2.connection import H2Connection
from actors.plugins.http.server.request import HttpRequest
from actors.plugins.http.server.request_parser import RECV_SIZE

if TYPE_CHECKING:
    from actors.config.model import SslConfig
    from actors.plugins.http.server.listener import HttpServer

__all__ = ["TLS12_CIPHERS", "TlsConnection", "client_verify_mode", "serve_tls", "server_context"]

#: TLS 1.2 suites, RoadRunner's list (forward secrecy and AEAD only); TLS 1.3 suites are
#: OpenSSL's defaults, as Go picks its own for 1.3.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"

#: ``client_auth_type`` → OpenSSL verify mode.  Python's ``ssl`` has no verify callback, so the
#: two Go modes that accept an UNVERIFIED certificate (``request_client_cert``,
#: ``require_any_client_cert``) verify it against ``root_ca`` too: a certificate that does not
#: chain to it is refused instead of accepted (docs/tls-and-http2.md).
_VERIFY_MODES = {
    "no_client_cert": ssl.CERT_NONE,
    "request_client_cert": ssl.CERT_OPTIONAL,
    "require_any_client_cert": ssl.CERT_REQUIRED,
    "verify_client_cert_if_given": ssl.CERT_OPTIONAL,
    "require_and_verify_client_cert": ssl.CERT_REQUIRED,
}


def client_verify_mode(cfg: SslConfig) -> ssl.VerifyMode:
    """The verify mode for client certificates: none unless ``root_ca`` is set, as RoadRunner
    applies ``client_auth_type`` only together with a root CA."""
    if not cfg.root_ca:
        return ssl.CERT_NONE
    return _VERIFY_MODES[cfg.client_auth_type]


def server_context(cfg: SslConfig, *, alpn: tuple[str, ...] = ("h2", "http/1.1")) -> Any:
    """The TLS context of the ``http.ssl`` listener; raises ``ValueError`` saying which file
    could not be used and why (a key that does not match the certificate, a bad PEM)."""
    ctx = gevent.ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.set_ciphers(TLS12_CIPHERS)
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    try:
        ctx.load_cert_chain(cfg.cert, cfg.key)
    except (OSError, ssl.SSLError) as exc:
        raise ValueError(
            f"http.ssl: cannot use cert {cfg.cert!r} with key {cfg.key!r}: {exc}; both must be "
            "PEM files and the key must be the certificate's"
        ) from None
    mode = client_verify_mode(cfg)
    if mode != ssl.CERT_NONE:
        # RoadRunner's createCertPool: the system roots plus root_ca.
        ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)
        try:
            ctx.load_verify_locations(cafile=cfg.root_ca)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(
                f"http.ssl.root_ca: cannot load {cfg.root_ca!r}: {exc}; a PEM bundle is expected"
            ) from None
    ctx.verify_mode = mode
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    return ctx


def serve_tls(server: HttpServer, sock: Any, addr: tuple[str, int]) -> None:
    """Handshake on an accepted socket, then serve it as HTTP/2 or HTTP/1.1 (in this greenlet).

    A failed handshake (no common version, a refused client certificate, a plain-HTTP client
    on the TLS port) only closes the connection: it is logged at debug level, since any port
    scanner causes them.
    """
    tls = server.tls
    assert tls is not None
    server.handshaking += 1
    tsock = sock
    try:
        # wrap_socket takes the file descriptor over: from here on only tsock closes it.
        tsock = tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with gevent.Timeout(server.head_timeout, TimeoutError("TLS handshake timed out")):
            tsock.do_handshake()
    except (OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
        server.logger.debug("http: TLS handshake with %s failed: %s", addr, exc)
        with contextlib.suppress(OSError):
            tsock.close()
        return
    finally:
        server.handshaking -= 1
    if tsock.selected_alpn_protocol() == "h2":
        server.run_connection(H2Connection(server, tsock, addr, scheme="https"))
    else:
        server.run_connection(TlsConnection(server, tsock, addr))


class _TlsReads:
    """Stands in for the raw socket :class:`Connection` reads eagerly: over TLS there is no
    raw read (bytes must be decrypted), so ``recv`` hands out what the ``client_gone`` watcher
    already decrypted, else says "would block" so the connection takes the gevent path;
    ``send`` likewise always goes through the SSL socket's ``sendall``."""

    __slots__ = ("stash",)

    def __init__(self) -> None:
        self.stash = b""

    def recv(self, size: int, flags: int = 0) -> bytes:
        data = self.stash
        if data:
            self.stash = b""
            return data
        raise BlockingIOError

    def send(self, data: bytes) -> int:
        raise BlockingIOError


class TlsConnection(Connection):
    """HTTP/1.1 over TLS: :class:`Connection` with decrypted reads and ``https`` requests."""

    __slots__ = ("_reads",)

    def __init__(self, server: HttpServer, sock: Any, addr: tuple[str, int]) -> None:
        super().__init__(server, sock, addr)
        self._reads = _TlsReads()
        self._raw = self._reads

    def _recv_wait(self, timeout: float) -> bytes | None:
        # What the client_gone watcher decrypted while the handler ran comes first (the loop
        # waits before reading after an answer, so it does not look at the stash itself).
        stash = self._reads.stash
        if stash:
            self._reads.stash = b""
            return stash
        # gevent's SSL socket waits for the descriptor AND decrypts (a readable descriptor may
        # hold only part of a record, or a record already decrypted may be pending in OpenSSL).
        sock = self.sock
        if timeout != self._timeout:
            sock.settimeout(timeout)
            self._timeout = timeout
        try:
            data: bytes = sock.recv(RECV_SIZE)
        except TimeoutError:
            return None
        return data

    def _serve(self, request: HttpRequest) -> bool:
        request.scheme = "https"
        return super()._serve(request)

    def _on_readable(self) -> None:
        # Runs in the hub, so it must not block: read what OpenSSL can decrypt now.  A TLS peer
        # usually sends close_notify before its FIN, so peeking the TCP socket (the plain
        # path's test) would see bytes and miss the departure.
        try:
            data = self.sock._sslobj.read(RECV_SIZE)
        except ssl.SSLWantReadError:
            return  # a partial record, or a TLS 1.3 ticket: nothing for HTTP yet
        except (OSError, ValueError, AttributeError):
            data = b""  # close_notify (SSLZeroReturnError), EOF, reset, or already closed
        self._watcher.stop()
        if not data:
            writer = self._writer
            if writer is not None:
                writer.client_gone.set()
        else:
            self._reads.stash += data  # the next pipelined request: _loop reads it first

"""Certificates made with the openssl CLI, TLS servers, and TLS clients for tests/http_tls and
tests/http2.

:func:`make_certs` writes a CA, a server certificate for ``localhost``/``127.0.0.1`` signed by
it, a client certificate signed by it, and a client certificate signed by ANOTHER CA (the
one a verifying server must refuse).  Clients run in real threads (``tests.support.hub.call``)
with the standard library's ``ssl``, so nothing here shares the server's hub.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
from pathlib import Path
from typing import Any

from tests.support.http_servers import Server, Servers

TIMEOUT = 10.0


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def _signed(d: Path, name: str, subject: str, ca: str, ext: str | None = None) -> None:
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
        "-subj", subject, cwd=d,
    )  # fmt: skip
    args = ["x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key"]
    args += ["-CAcreateserial", "-out", f"{name}.pem", "-days", "2"]
    if ext:
        (d / f"{name}.ext").write_text(ext)
        args += ["-extfile", f"{name}.ext"]
    _openssl(*args, cwd=d)


def make_certs(d: Path) -> Path:
    """Write ca, server, client (signed by ca), other_ca and stranger (signed by other_ca)."""
    for ca in ("ca", "other_ca"):
        _openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key",
            "-out", f"{ca}.pem", "-days", "2", "-subj", f"/CN=Greenrunner test {ca}", cwd=d,
        )  # fmt: skip
    _signed(d, "server", "/CN=localhost", "ca", "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    _signed(d, "client", "/CN=alice/O=Greenrunner tests", "ca", "extendedKeyUsage=clientAuth\n")
    _signed(d, "stranger", "/CN=mallory", "other_ca", "extendedKeyUsage=clientAuth\n")
    return d


def client_context(
    certs: Path,
    cert: str | None = None,
    *,
    alpn: list[str] | None = None,
    max_version: ssl.TLSVersion | None = None,
) -> ssl.SSLContext:
    """A client trusting the test CA, presenting ``cert`` (``client``/``stranger``) if given."""
    ctx = ssl.create_default_context(cafile=str(certs / "ca.pem"))
    if cert:
        ctx.load_cert_chain(str(certs / f"{cert}.pem"), str(certs / f"{cert}.key"))
    if alpn:
        ctx.set_alpn_protocols(alpn)
    if max_version is not None:
        ctx.maximum_version = max_version
    return ctx


def tls_exchange(addr: tuple[str, int], ctx: ssl.SSLContext, data: bytes) -> bytes:
    """Send ``data`` over TLS and read until the server closes."""
    raw = socket.create_connection(addr, timeout=TIMEOUT)
    with ctx.wrap_socket(raw, server_hostname="localhost") as sock:
        sock.sendall(data)
        out = b""
        while chunk := sock.recv(65536):
            out += chunk
        return out


def https_get(
    addr: tuple[str, int], path: str, ctx: ssl.SSLContext, extra: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 GET over TLS (``Connection: close``): status, headers, body.

    Raises ``ssl.SSLError``/``OSError`` when the server refuses the handshake or closes
    without answering (with TLS 1.3 a refused client certificate shows up on the first read).
    """
    request = f"GET {path} HTTP/1.1\r\nHost: localhost:{addr[1]}\r\n".encode()
    data = tls_exchange(addr, ctx, request + extra + b"Connection: close\r\n\r\n")
    if not data:
        raise ConnectionError("the server closed without answering")
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


class TlsServers(Servers):
    """Factory fixture: ``tls_servers(http={...})`` is :class:`Servers` whose ``http``
    section is exactly what is given (plus pool and uploads defaults): no plain address is
    forced, so a TLS-only server can be tested."""

    default_http: dict[str, Any] = {}

    def __init__(self, certs: Path) -> None:
        super().__init__()
        self.certs = certs

    def ssl(self, **extra: Any) -> dict[str, Any]:
        """An ``http.ssl`` section on a free port with the test server certificate."""
        return {
            "address": "127.0.0.1:0",
            "key": str(self.certs / "server.key"),
            "cert": str(self.certs / "server.pem"),
            **extra,
        }


def tls_address(server: Server) -> tuple[str, int]:
    """The TLS listener's address of a started server."""
    addr: tuple[str, int] = server.plugin.tls_address
    return addr

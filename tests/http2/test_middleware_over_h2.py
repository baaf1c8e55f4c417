"""The middleware chain is the same over HTTP/2 (and TLS): it sees only ``HttpRequest`` and the
``Writer`` protocol, so static files, gzip and CORS behave as over HTTP/1.1."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.http_servers import Server
from tests.support.hub import call
from tests.support.tls import TlsServers

WORKER = [sys.executable, str(Path(__file__).with_name("h2_worker.py"))]


@pytest.fixture
def server(tls_servers: TlsServers, tmp_path: Path) -> Server:
    public = tmp_path / "public"
    public.mkdir()
    (public / "app.css").write_text("body { color: red }\n" * 200)
    return tls_servers(
        WORKER,
        http={
            "address": "127.0.0.1:0",
            "ssl": tls_servers.ssl(),
            "http2": {"h2c": True},
            "middleware": [
                "static",
                "headers",
                "gzip",
            ],  # gzip outermost: it compresses static files too
            "static": {"dir": str(public), "calculate_etag": True},
            "headers": {"cors": {"allowed_origin": "https://app.example"}},
        },
    )


def _curl(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["curl", "-sS", "--max-time", "20", "--http2-prior-knowledge", "-D", "-", *args],
        capture_output=True,
        timeout=30,
    )


def _split(raw: bytes) -> tuple[str, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return head.decode("latin-1").lower(), body


def test_static_file_gzipped_over_h2c(server: Server) -> None:
    url = f"http://127.0.0.1:{server.addr[1]}/app.css"
    out = call(_curl, "-H", "Accept-Encoding: gzip", url)
    head, body = _split(out.stdout)
    assert head.startswith("http/2 200"), head
    assert "content-encoding: gzip" in head
    assert "etag:" in head
    assert gzip.decompress(body) == b"body { color: red }\n" * 200


def test_cors_preflight_over_h2c(server: Server) -> None:
    url = f"http://127.0.0.1:{server.addr[1]}/api"
    out = call(
        _curl,
        "-X",
        "OPTIONS",
        "-H",
        "Origin: https://app.example",
        "-H",
        "Access-Control-Request-Method: POST",
        url,
    )
    head, _ = _split(out.stdout)
    assert head.startswith("http/2 200"), head
    assert "access-control-allow-origin: https://app.example" in head

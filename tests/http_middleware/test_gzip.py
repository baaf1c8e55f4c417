"""``gzip``: compressed for clients that accept it, streamed chunk by chunk, never twice."""

from __future__ import annotations

import gzip as gzip_module
import socket
import zlib

from tests.support.http_client import TIMEOUT, RawReader, request
from tests.support.hub import call

from .conftest import Start

ACCEPT = {"Accept-Encoding": "gzip, deflate"}


def test_a_text_answer_is_compressed_for_a_client_that_accepts_gzip(mw: Start, kind: str) -> None:
    server = mw(["gzip"], kind)
    r = call(request, server.addr, "GET", "/text?n=20000", None, ACCEPT)
    assert r.status == 200, r
    assert r.header("Content-Encoding") == "gzip"
    assert r.header("Vary") == "Accept-Encoding"
    assert int(r.header("Content-Length") or 0) == len(r.body) < 2000
    text = gzip_module.decompress(r.body)
    assert len(text) == 20000 and text.startswith((b"wsgi says hello\n", b"php says hello\n"))


def test_no_compression_without_accept_encoding_or_when_refused(mw: Start, kind: str) -> None:
    server = mw(["gzip"], kind)
    for headers in ({}, {"Accept-Encoding": "br"}, {"Accept-Encoding": "gzip;q=0"}):
        r = call(request, server.addr, "GET", "/text?n=20000", None, headers)
        assert r.header("Content-Encoding") is None, headers
        assert len(r.body) == 20000
        assert r.header("Vary") == "Accept-Encoding"


def test_small_bodies_and_compressed_types_are_sent_as_they_are(mw: Start) -> None:
    server = mw(["gzip"])
    r = call(request, server.addr, "GET", "/text?n=1000", None, ACCEPT)
    assert r.header("Content-Encoding") is None and len(r.body) == 1000
    r = call(request, server.addr, "GET", "/png?n=50000", None, ACCEPT)
    assert r.header("Content-Encoding") is None and len(r.body) == 50000


def test_an_answer_already_encoded_is_not_compressed_twice(mw: Start) -> None:
    server = mw(["gzip"])
    r = call(request, server.addr, "GET", "/encoded", None, ACCEPT)
    assert r.header("Content-Encoding") == "br"
    assert r.body == b"pretend-brotli " * 200


def _stream(addr: tuple[str, int], n: int) -> tuple[list[tuple[str, str]], list[bytes]]:
    with socket.create_connection(addr, timeout=TIMEOUT) as sock:
        sock.sendall(
            f"GET /stream?n={n} HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        reader = RawReader(sock)
        _, headers = reader.head()
        return headers, reader.chunks()


def test_a_stream_is_compressed_and_flushed_chunk_by_chunk(mw: Start) -> None:
    server = mw(["gzip"])
    headers, chunks = call(_stream, server.addr, 20)
    names = {k.lower(): v for k, v in headers}
    assert names["content-encoding"] == "gzip"
    assert names["transfer-encoding"] == "chunked" and "content-length" not in names
    assert len(chunks) > 2, "a stream must not be buffered into one gzip member"
    inflate = zlib.decompressobj(31)
    lines = []
    for chunk in chunks[:-1]:
        # Each wire chunk was flushed: it inflates to whole lines at once, without the next one.
        piece = inflate.decompress(chunk)
        assert piece and piece.endswith(b"\n"), piece
        lines.extend(piece.splitlines())
    lines.extend((inflate.decompress(chunks[-1]) + inflate.flush()).splitlines())
    assert inflate.eof
    assert [line.strip() for line in lines] == [f"wsgi-{i}".encode() for i in range(20)]

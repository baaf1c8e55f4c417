"""What the server answers when its handler raises (``ResponseWriter.handler_failed``)."""

from __future__ import annotations

import gevent
import gevent.event

from tests.support.http_wire import exchange, parse_responses
from tests.support.hub import call, spawn_call


def test_failed_handler_keeps_the_connection_alive(serve):
    """A plain 500 with its length, no ``Connection: close``: the next request on the same
    connection is served, as Go's server does after a handler panic it recovered."""

    def handler(req, resp):
        if req.path == b"/bad":
            resp.start(201, [("X-Lost", "1")])
            raise RuntimeError("handler bug")
        resp.finish(b"next")

    server = serve(handler)
    raw = call(
        exchange,
        server.address,
        b"GET /bad HTTP/1.1\r\nHost: x\r\n\r\n"
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    (status, headers, body), second = parse_responses(raw)
    assert (status, body) == (500, b"500 Internal Server Error")
    names = {name.lower() for name, _ in headers}
    assert "connection" not in names and "x-lost" not in names
    assert (second[0], second[2]) == (200, b"next")


def test_failed_handler_during_stop_closes_the_connection(serve):
    """A handler that fails while the server stops gets a 500 that says ``Connection: close``
    (the server is going away, so the client must not send another request on it)."""
    entered = gevent.event.Event()
    release = gevent.event.Event()

    def handler(req, resp):
        entered.set()
        release.wait(5)
        raise RuntimeError("handler bug")

    server = serve(handler)
    pending = spawn_call(exchange, server.address, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert entered.wait(5)
    stopper = gevent.spawn(server.stop, 5.0)
    gevent.sleep(0.05)
    release.set()
    raw = pending.get(timeout=10)
    ((status, headers, body),) = parse_responses(raw)
    assert (status, body) == (500, b"500 Internal Server Error")
    assert dict(headers).get("Connection") == "close"
    stopper.get(timeout=10)
    assert server.connections == 0

"""1xx statuses in the worker SDK (relays/http.py) and the WSGI adapter: an informational
answer never ends a request.  The worker runs in the test process, over os.pipe."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from relays.frame import CODEC_JSON, FrameReader, encode_data_frame
from relays.http import HttpWorker
from relays.worker import Worker

from .worker_process import context


class InProcessWorker:
    """An :class:`HttpWorker` in the test process, and the server's ends of its pipes relay."""

    def __init__(self) -> None:
        self.to_worker_r, self.to_worker_w = os.pipe()
        self.from_worker_r, self.from_worker_w = os.pipe()
        self.http = HttpWorker(Worker.from_fds(self.to_worker_r, self.from_worker_w))
        self.reader = FrameReader(lambda n: os.read(self.from_worker_r, n))

    def request(self, path: str) -> None:
        ctx = json.dumps(context("GET", path)).encode()
        os.write(self.to_worker_w, encode_data_frame(ctx, b"", CODEC_JSON))

    def close(self) -> None:
        self.http.worker.close()
        for fd in (self.to_worker_w, self.from_worker_r):
            os.close(fd)


@pytest.fixture
def in_process_worker() -> Iterator[InProcessWorker]:
    worker = InProcessWorker()
    try:
        yield worker
    finally:
        worker.close()


def test_respond_with_a_1xx_status_is_not_the_final_frame(
    in_process_worker: InProcessWorker,
) -> None:
    """``respond(103, b"", headers)`` must leave the request open (a STREAM frame, like
    ``respond_informational``): a final frame would end the request server side, and the real
    answer sent next would be read as the answer to the *next* request on this worker."""
    in_process_worker.request("/")
    assert in_process_worker.http.wait_request() is not None
    in_process_worker.http.respond(103, b"", {"Link": ["</a.css>; rel=preload"]})
    in_process_worker.http.respond(200, b"final")
    hint, final = in_process_worker.reader.read_frame(), in_process_worker.reader.read_frame()
    assert hint.is_stream, "the 1xx frame ended the request"
    assert json.loads(hint.split()[0])["status"] == 103
    assert not final.is_stream and final.split()[1] == b"final"


def test_respond_with_a_1xx_status_and_a_body_is_refused(
    in_process_worker: InProcessWorker,
) -> None:
    in_process_worker.request("/")
    assert in_process_worker.http.wait_request() is not None
    with pytest.raises(ValueError, match="cannot have a body"):
        in_process_worker.http.respond(103, b"body")


def test_wsgi_app_with_an_informational_final_status_gets_a_500(
    in_process_worker: InProcessWorker,
) -> None:
    """A WSGI status is the final one: ``103`` there is an application bug, answered 500 with
    a final frame (an informational frame would leave the server waiting for a final answer
    that never comes)."""
    from relays.wsgi import handle_request

    def app(environ: dict, start_response: object) -> list[bytes]:
        start_response("103 Early Hints", [("Link", "</a.css>")])  # type: ignore[operator]
        return [b""]

    in_process_worker.request("/")
    request = in_process_worker.http.wait_request()
    assert request is not None
    handle_request(app, in_process_worker.http, request)
    frame = in_process_worker.reader.read_frame()
    assert not frame.is_stream
    assert json.loads(frame.split()[0])["status"] == 500

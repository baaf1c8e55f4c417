"""One client connection: its events go to the pool in order, the answers come back.

The greenlet that runs :meth:`Connection.serve` owns the socket: it alone
reads, writes and closes it.  Anyone else (``tcp.Close`` over RPC, the
plugin stopping) calls :meth:`Connection.close`, which only shuts the socket
down; the owner then sees end of file and finishes like RoadRunner's handler
does after its ``conn.Close()``: it sends the ``CLOSE`` event.

Sequence (``handler.go`` of ``roadrunner-server/tcp``): ``CONNECTED`` with an
empty body; then, while the answers say to go on, ``DATA`` with each framed
message; ``CLOSE`` when the connection ends for any reason but a failed
exchange with the pool (an exec error closes the connection silently, as in
RoadRunner).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import uuid
from typing import TYPE_CHECKING, Any

import gevent.event
from gevent import get_hub

from actors.freelist import Cancelled
from actors.plugins.tcp.events import (
    CLOSE,
    CONTINUE,
    EVENT_CLOSE,
    EVENT_CONNECTED,
    EVENT_DATA,
    WRITE,
    WRITECLOSE,
    event_contexts,
    format_addr,
)
from actors.plugins.tcp.framing import Framer, FramingError
from relays.payload import Payload

if TYPE_CHECKING:
    from actors.config.model import TcpServerConfig
    from actors.plugins.tcp.plugin import TcpPlugin

__all__ = ["Connection"]

log = logging.getLogger("greenrunner.tcp")


class Connection:
    """The state of one accepted socket; see the module docstring for who owns what."""

    def __init__(self, plugin: TcpPlugin, server: TcpServerConfig, sock: socket.socket) -> None:
        self.plugin = plugin
        self.server = server
        self.sock = sock
        self.uuid = str(uuid.uuid4())
        self.remote_addr = format_addr(sock)
        self._contexts = event_contexts(self.remote_addr, server.name, self.uuid)
        self._framer = Framer(server.delimiter, plugin.cfg.max_message_bytes, stream=server.stream)
        self._closed = False
        self._close_sent = False
        #: Set when the client is seen gone while an event waits: the wait gives up.
        self._gone = gevent.event.Event()
        self._watcher: Any = None

    # -- called by others ------------------------------------------------------------

    def close(self) -> None:
        """Ask the owner to end this connection (``tcp.Close``, plugin stop).

        The client gets a FIN now; the owner greenlet wakes with end of file
        (or finishes its current event first) and sends ``CLOSE`` to a worker.
        """
        if self._closed:
            return
        with contextlib.suppress(OSError):  # already gone: the owner is finishing anyway
            self.sock.shutdown(socket.SHUT_RDWR)

    # -- the owner greenlet ------------------------------------------------------------

    def serve(self) -> None:
        """Run the connection to its end; never raises (errors are logged)."""
        try:
            answer = self._exec(EVENT_CONNECTED, b"")
            if answer is not None and self._answer(answer):
                self._read_loop()
        except Exception:
            log.exception(
                "tcp connection failed",
                extra={"fields": {"server": self.server.name, "uuid": self.uuid}},
            )
        finally:
            self._close_socket()
            if self._watcher is not None:
                self._watcher.close()
                self._watcher = None

    def _read_loop(self) -> None:
        while True:
            message = self._read_message()
            if message is None:
                return
            answer = self._exec(EVENT_DATA, message)
            if answer is None or not self._answer(answer):
                return

    def _read_message(self) -> bytes | None:
        """The next message, or None once the connection ended (``CLOSE`` sent)."""
        framer = self._framer
        size = self.plugin.cfg.read_buf_bytes
        while True:
            try:
                chunk = self.plugin.recv(self.sock, size)
            except OSError as exc:
                self._fields_log(logging.WARNING, "read error, connection closed", error=str(exc))
                self._close_and_notify()
                return None
            if not chunk:
                rest = framer.flush()
                if rest:
                    # Bytes after the last delimiter: RoadRunner hands them to the worker too.
                    return rest
                self._close_and_notify()
                return None
            try:
                message = framer.feed(chunk)
            except FramingError as exc:
                self._fields_log(logging.ERROR, str(exc))
                self._close_and_notify()
                return None
            if message is not None:
                return message

    def _answer(self, answer: Payload) -> bool:
        """Act on the worker's answer; True means read on."""
        word = answer.context
        if word == CONTINUE:
            return True
        if word == WRITE:
            if not self._write(answer.body):
                self._close_and_notify()
                return False
            return True
        if word == WRITECLOSE:
            self._write(answer.body)
            self._close_and_notify()
            return False
        if word != CLOSE:
            self._fields_log(
                logging.WARNING,
                "unknown worker answer, connection closed: expected WRITE, WRITECLOSE, "
                "CONTINUE or CLOSE in the response context",
                answer=word[:64].decode("utf-8", "replace"),
            )
        self._close_and_notify()
        return False

    def _write(self, body: bytes) -> bool:
        if not body:
            return True
        try:
            self.sock.sendall(body)
        except OSError as exc:
            self._fields_log(logging.ERROR, "write response error", error=str(exc))
            return False
        return True

    # -- the pool --------------------------------------------------------------------------

    def _exec(self, event: str, body: bytes) -> Payload | None:
        """One event through the pool; None when it failed (the connection is closed then)."""
        payload = Payload(body, self._contexts[event])
        self._watch_client()
        try:
            return self.plugin.exec(payload, self._gone)
        except Cancelled:
            self._fields_log(logging.DEBUG, "client went away while its event waited")
            if event == EVENT_CONNECTED:
                # No worker heard of this connection: no CLOSE event for it either.
                self._close_sent = True
            self._close_and_notify()
            return None
        except Exception as exc:
            self._fields_log(logging.ERROR, "execute error", error=str(exc), event=event)
            self._close_socket()
            return None
        finally:
            self._stop_watching()

    def _close_and_notify(self) -> None:
        """Close the socket, then tell a worker (RoadRunner's ``conn.Close(); sendClose()``)."""
        self._close_socket()
        if self._close_sent:
            return
        self._close_sent = True
        try:
            self.plugin.exec(Payload(b"", self._contexts[EVENT_CLOSE]), None)
        except Exception as exc:  # the answer to CLOSE is ignored, and so is its failure
            self._fields_log(logging.DEBUG, "close event not delivered", error=str(exc))

    def _close_socket(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop_watching()
        self.plugin.forget(self)
        self.sock.close()

    # -- noticing a client that went away while its event waits ------------------------------

    def _watch_client(self) -> None:
        """Arm a cheap readability watcher (no greenlet): a socket that becomes readable
        during an exec holds either pipelined data or end of file; a peek tells which."""
        if self._watcher is None:
            self._watcher = get_hub().loop.io(self.sock.fileno(), 1)
        self._watcher.start(self._readable)

    def _stop_watching(self) -> None:
        if self._watcher is not None:
            self._watcher.stop()

    def _readable(self) -> None:
        # A hub callback: the peek must not block, so it goes through a dup of the
        # descriptor (non-blocking like the original), never through the gevent socket.
        self._watcher.stop()
        try:
            with socket.fromfd(self.sock.fileno(), self.sock.family, self.sock.type) as peek:
                data = peek.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._gone.set()

    def _fields_log(self, level: int, message: str, **fields: str) -> None:
        if log.isEnabledFor(level):
            fields.update(server=self.server.name, uuid=self.uuid, remote=self.remote_addr)
            log.log(level, message, extra={"fields": fields})

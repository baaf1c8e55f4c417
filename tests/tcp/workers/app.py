"""A tcp worker on the Python SDK: an echo server and a line-based chat server.

``TCP_APP=echo``: every DATA message comes back as is, except a few commands
(whole messages): ``quit`` answers ``bye`` and closes (WRITECLOSE), ``close``
closes without a word (CLOSE), ``silent`` writes nothing (CONTINUE), ``sleep`` answers after
1.5 s, ``die``
kills this worker in the middle of the event, ``stream`` answers with a
stream (refused by the server), ``bogus`` with an unknown word.
DATA and CLOSE events are appended to ``$TCP_LOG``.

``TCP_APP=chat`` (delimiter ``\\n``): ``NICK name``, ``SAY text``,
``HISTORY`` (every line said, then ``END``), ``KICK uuid`` (``tcp.Close``
over RPC), ``QUIT``; the chat log is a file shared by all workers.
"""

import fcntl
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from relays.payload import Payload
from relays.rpc import RPC
from relays.tcp import TcpEvent, TcpRequest, TcpResponse, TcpWorker

LOG = os.environ.get("TCP_LOG", "")
STATE = Path(os.environ.get("TCP_STATE", "/tmp"))


def append(path: Path | str, line: str) -> None:
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(line + "\n")


def echo(tcp: TcpWorker, request: TcpRequest) -> None:
    if request.event is TcpEvent.CONNECTED:
        tcp.read()
        return
    if request.event is TcpEvent.CLOSE:
        if LOG:
            append(LOG, f"CLOSE {request.connection_uuid}")
        tcp.close()
        return
    if LOG:
        append(LOG, f"DATA {request.connection_uuid} {len(request.body)}")
    command = request.body.strip()
    if command == b"quit":
        tcp.respond(b"bye\r\n", TcpResponse.RESPOND_CLOSE)
    elif command == b"close":
        tcp.close()
    elif command == b"silent":
        tcp.read()
    elif command == b"whoami":
        tcp.respond(
            f"{request.connection_uuid} {request.remote_addr} {request.server}\r\n".encode()
        )
    elif command == b"sleep":
        time.sleep(1.5)
        tcp.respond(b"slept\r\n")
    elif command == b"die":
        os._exit(3)
    elif command == b"bogus":
        tcp.worker.respond(Payload(b"never written", b"NOPE"))
    elif command == b"stream":
        tcp.worker.respond(Payload(b"part", b"WRITE"), end_of_stream=False)
        tcp.worker.respond(Payload(b"end", b"WRITE"), end_of_stream=True)
    else:
        tcp.respond(request.body)


def chat(tcp: TcpWorker, request: TcpRequest) -> None:
    nick_file = STATE / f"nick-{request.connection_uuid}"
    history = STATE / "history"
    if request.event is TcpEvent.CONNECTED:
        tcp.respond(f"HELLO {request.connection_uuid}\n".encode())
        return
    nick = nick_file.read_text() if nick_file.exists() else request.remote_addr
    if request.event is TcpEvent.CLOSE:
        append(history, f"* {nick} left")
        tcp.close()
        return
    verb, _, rest = request.body.rstrip(b"\n").decode().partition(" ")
    if verb == "NICK":
        nick_file.write_text(rest)
        tcp.respond(b"OK\n")
    elif verb == "SAY":
        append(history, f"{nick}: {rest}")
        tcp.respond(b"OK\n")
    elif verb == "HISTORY":
        lines = history.read_text() if history.exists() else ""
        tcp.respond((lines + "END\n").encode())
    elif verb == "KICK":
        with RPC.create() as rpc:
            rpc.call("tcp.Close", rest)
        tcp.respond(b"KICKED\n")
    elif verb == "QUIT":
        tcp.respond(b"BYE\n", TcpResponse.RESPOND_CLOSE)
    else:
        tcp.respond(f"ERR unknown command {verb}\n".encode())


def main() -> None:
    handler = chat if os.environ.get("TCP_APP") == "chat" else echo
    tcp = TcpWorker()
    assert os.environ.get("RR_MODE") == "tcp", os.environ.get("RR_MODE")
    while (request := tcp.wait_request()) is not None:
        handler(tcp, request)


main()

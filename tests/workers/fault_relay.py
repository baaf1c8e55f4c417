"""Breaks the relay in the middle of a request, on any relay; the request body says how.

* ``close``:  closes its end of the relay (stdout on pipes, the socket's write side on
  tcp/unix) and stays alive, without answering.
* ``half``:   writes the first half of a valid answer frame, then closes its end and stays
  alive.
* ``badcrc``: streams two good chunks, then a frame header whose CRC is wrong, then stays
  alive.
* anything else: answers its pid.

Staying alive (60 s) is the point: the server must not wait for the process to exit.
"""

import os
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays import Payload, Worker
from relays.frame import STREAM, encode_data_frame

worker = Worker.create()
transport = worker._transport


def close_write_side() -> None:
    if transport.kind == "pipes":
        os.close(transport.write_fd)
    else:
        transport.sock.shutdown(socket.SHUT_WR)


while (payload := worker.wait_payload()) is not None:
    mode = payload.body
    if mode == b"close":
        close_write_side()
        time.sleep(60)
    elif mode == b"half":
        frame = encode_data_frame(b"", b"x" * 1000)
        transport.send(frame[: len(frame) // 2])
        close_write_side()
        time.sleep(60)
    elif mode == b"badcrc":
        transport.send(encode_data_frame(b"", b"chunk-0", 0, STREAM))
        transport.send(encode_data_frame(b"", b"chunk-1", 0, STREAM))
        bad = bytearray(encode_data_frame(b"", b"chunk-2", 0, STREAM))
        bad[6] ^= 0xFF  # the header CRC
        transport.send(bytes(bad))
        time.sleep(60)
    else:
        worker.respond(Payload(str(os.getpid()).encode()))

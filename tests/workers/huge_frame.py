"""Answers every request with a header announcing a 4 GiB payload, then streams zeros.

A broken worker the server must refuse on the header (server.max_frame_size), before
buffering any of it.
"""

import os
import struct
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays.worker import Worker

worker = Worker.create()
while worker.wait_payload() is not None:
    head = struct.pack("<BBI", (1 << 4) | 4, 0, 0xFFFFFFFF)
    header = head + struct.pack("<I", zlib.crc32(head)) + bytes((0, 0)) + struct.pack("<I", 0)
    worker._send(header)  # the relay, whatever its kind (pipes, tcp, unix)
    chunk = b"\0" * (1 << 20)
    try:
        for _ in range(4096):
            worker._send(chunk)
    except OSError:
        pass
    os._exit(0)

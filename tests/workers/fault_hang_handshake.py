"""Never completes the pid handshake, and stays alive (60 s).

On pipes it never reads the pid request; on tcp/unix it connects to the relay (so the
server sees a peer) but never answers.  The server must give up within its timeout and
kill the process.
"""

import os
import socket
import time

relay = os.environ.get("RR_RELAY", "pipes")
conn = None
if relay.startswith("tcp://"):
    host, _, port = relay[len("tcp://") :].rpartition(":")
    conn = socket.create_connection((host, int(port)))
elif relay.startswith("unix://"):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(relay[len("unix://") :])
time.sleep(60)

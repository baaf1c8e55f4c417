"""Leaves an orphan behind on every request: forks a child that forks a
grandchild and exits at once, so the grandchild (alive for 0.3 s) is
re-parented to the nearest subreaper.  Answers the grandchild's pid."""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays import Payload, Worker

worker = Worker.create()
while worker.wait_payload() is not None:
    r, w = os.pipe()
    child = os.fork()
    if child == 0:
        grandchild = os.fork()
        if grandchild == 0:
            os.close(r)
            os.close(w)
            time.sleep(0.3)
            os._exit(0)
        os.write(w, str(grandchild).encode())
        os._exit(0)
    os.close(w)
    gpid = os.read(r, 32)
    os.close(r)
    os.waitpid(child, 0)
    worker.respond(Payload(gpid))

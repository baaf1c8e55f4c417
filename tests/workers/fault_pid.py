"""A pid worker with faults switched on by environment variables (tests/faults/).

* ``BOOT_DELAY``: seconds to sleep before ``Worker.create()`` (a slow boot).
* ``ATTEMPTS_FILE``: every start appends the pid to this file (counts spawn attempts).
* ``FAIL_FLAG``: while this file exists, exit 1 at boot, before the handshake.
* ``CRASH_FLAG``: while this file exists, answer the pid handshake, then exit 1 at once
  (a worker that boots fine and dies right away: a runtime crash loop).

A request body is a number of seconds to sleep (empty: none); the answer is the pid.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from relays import Payload, Worker

attempts = os.environ.get("ATTEMPTS_FILE", "")
if attempts:
    with open(attempts, "a") as f:
        f.write(f"{os.getpid()} {time.monotonic():.3f}\n")

delay = float(os.environ.get("BOOT_DELAY") or 0)
if delay:
    time.sleep(delay)

fail = os.environ.get("FAIL_FLAG", "")
if fail and os.path.exists(fail):
    sys.stderr.write("fault_pid: refusing to start while FAIL_FLAG exists\n")
    sys.exit(1)

worker = Worker.create()

crash = os.environ.get("CRASH_FLAG", "")
if crash and os.path.exists(crash):
    worker._control(worker._read())  # answer the pid request: the server sees a good worker
    time.sleep(0.05)
    sys.stderr.write("fault_pid: crashing right after the handshake\n")
    os._exit(1)

while (payload := worker.wait_payload()) is not None:
    if payload.body:
        time.sleep(float(payload.body))
    worker.respond(Payload(str(os.getpid()).encode()))

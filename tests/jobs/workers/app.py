"""A jobs worker on the Python SDK for the tests: the job's name says what to answer.

Every job received is logged as one JSON line to ``$JOBS_LOG`` (pid, id, name, payload,
headers, pipeline, queue, driver) before it is answered:

- ``ack`` (and any other name): ack;
- ``nack``: nack, dropped; ``nack-requeue``: nack with requeue the first time this job id
  is seen (a marker file in ``$JOBS_STATE``), then ack;
- ``requeue``: requeue with header ``attempt: ["2"]`` once, then ack;
- ``error``: an ERROR frame (the server nacks); ``bad``: a body that is not JSON;
  ``empty``: an empty body; ``stream``: a streamed answer (the server nacks);
- ``sleep``: sleep the payload's seconds, then ack;
- ``legacy-error``: type 1 with requeue once, then ack.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from relays.jobs import Consumer
from relays.payload import Payload


def first_time(job_id: str) -> bool:
    """True the first time any worker sees ``job_id`` (an exclusive marker file)."""
    try:
        fd = os.open(Path(os.environ["JOBS_STATE"]) / job_id, os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def main() -> None:
    log_path = os.environ.get("JOBS_LOG", "")
    log = open(log_path, "a", buffering=1) if log_path else None  # noqa: SIM115
    consumer = Consumer()
    worker = consumer.worker
    while (task := consumer.wait_task()) is not None:
        if log is not None:
            log.write(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "mode": os.environ.get("RR_MODE"),
                        "id": task.id,
                        "name": task.name,
                        "payload": task.payload.decode("utf-8", "replace"),
                        "headers": task.headers,
                        "pipeline": task.pipeline,
                        "queue": task.queue,
                        "driver": task.driver,
                        "at": time.time(),
                    }
                )
                + "\n"
            )
        name = task.name
        again = "attempt" not in task.headers
        if name == "nack":
            task.nack("dropped on purpose")
        elif name == "nack-requeue":
            if first_time(task.id):
                task.nack("again", requeue=True)
            else:
                task.ack()
        elif name == "requeue":
            if again:
                task.requeue("again", headers={"attempt": ["2"]})
            else:
                task.ack()
        elif name == "legacy-error":
            if again:
                body = {"type": 1, "data": {"message": "x", "requeue": True,
                                            "headers": {"attempt": ["2"]}}}  # fmt: skip
                worker.respond(Payload(json.dumps(body).encode(), b""))
            else:
                task.ack()
            task.answered = True
        elif name == "error":
            worker.error("the job failed on purpose")
            task.answered = True
        elif name == "bad":
            worker.respond(Payload(b"not json", b""))
            task.answered = True
        elif name == "stream":
            worker.respond(Payload(b"part", b""), end_of_stream=False)
            worker.respond(Payload(b"end", b""))
            task.answered = True
        elif name == "empty":
            worker.respond(Payload(b"", b"{}"))
            task.answered = True
        elif name == "sleep":
            time.sleep(float(task.payload or b"0"))
            task.ack()
        else:
            task.ack()


if __name__ == "__main__":
    main()

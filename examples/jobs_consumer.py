"""A jobs worker on the Python SDK: one handler per job name, retries with a growing delay.

    python -m actors.main -c config/jobs.rr.yaml     (from the repository root)
    python -m examples.jobs_producer                 (in another shell)

Each job's ``name`` picks a handler; a handler that raises gets the job requeued with an
``attempt`` header and a delay of ``attempt`` seconds, up to three attempts, then nacked
(dropped).  What a handler prints goes to stderr, which the server logs.
Standard library plus the SDK only.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from relays.jobs import Consumer, Task

MAX_ATTEMPTS = 3


def send_email(message: dict[str, Any], task: Task) -> None:
    if "@" not in message.get("to", ""):
        raise ValueError(f"not an address: {message.get('to')!r}")
    print(f"email to {message['to']} (job {task.id}, pipeline {task.pipeline})", file=sys.stderr)


def build_report(message: dict[str, Any], task: Task) -> None:
    print(f"report for {message.get('month')} (job {task.id})", file=sys.stderr)


HANDLERS: dict[str, Callable[[dict[str, Any], Task], None]] = {
    "SendEmail": send_email,
    "BuildReport": build_report,
}


def main() -> None:
    for task in Consumer():
        handler = HANDLERS.get(task.name)
        if handler is None:
            task.nack(f"no handler for job {task.name!r}")
            continue
        try:
            handler(json.loads(task.payload or b"{}"), task)
        except Exception as exc:
            attempt = int(task.header("attempt") or "1")
            if attempt < MAX_ATTEMPTS:
                task.requeue(str(exc), delay=attempt, headers={"attempt": [str(attempt + 1)]})
            else:
                task.nack(f"gave up after {attempt} attempts: {exc}")
        else:
            task.ack()


if __name__ == "__main__":
    main()

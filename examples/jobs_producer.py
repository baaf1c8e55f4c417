"""Push jobs into a running Greenrunner over RPC (the SDK's producer, like PHP's ``Jobs``).

    python -m examples.jobs_producer [count]       (RR_RPC, else tcp://127.0.0.1:6001)

Pushes ``count`` (default 10) ``SendEmail`` jobs to ``emails``, one of them with a bad
address (the consumer retries it, then gives up), a batch of two, and a ``BuildReport``
to ``reports`` delayed by 2 seconds; then prints every pipeline's counters (``jobs.Stat``).
"""

from __future__ import annotations

import sys

from relays.jobs import Jobs
from relays.rpc import RPC


def main(count: int) -> None:
    with RPC.create() as rpc:
        jobs = Jobs(rpc)
        emails = jobs.connect("emails")
        for n in range(count):
            to = "nobody" if n == 0 else f"user{n}@example.com"
            emails.push("SendEmail", {"to": to}, headers={"source": ["example"]})
        emails.push_batch(
            [
                emails.job("SendEmail", {"to": "a@example.com"}, priority=1),
                emails.job("SendEmail", {"to": "b@example.com"}, priority=1),
            ]
        )
        jobs.connect("reports").push("BuildReport", {"month": "2026-11"}, delay=2)
        for stat in jobs.stat():
            print(
                f"{stat['pipeline']}: active {stat['active']}, delayed {stat['delayed']}, "
                f"ready {stat['ready']}"
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)

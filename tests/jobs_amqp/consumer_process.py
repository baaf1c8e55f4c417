"""A consumer in its own process, for the test that kills a consumer mid-job: it takes jobs,
prints each id on stdout and never acks (the test SIGKILLs it while it "works").

Usage: python -m tests.jobs_amqp.consumer_process <amqp-url> <pipeline/queue name>
"""

from __future__ import annotations

import sys

import gevent

from actors.config.schema.amqp import AmqpPipelineSchema
from actors.plugins.jobs.drivers.amqp import make_amqp_driver


class _Printer:
    def insert(self, item: object) -> None:
        print(getattr(item, "id", "?"), flush=True)


def main() -> None:
    url, name = sys.argv[1], sys.argv[2]
    cfg = AmqpPipelineSchema(name).load({"addr": url, "queue": name, "routing_key": name})
    driver = make_amqp_driver(cfg, _Printer(), None)
    driver.run()
    print("consuming", flush=True)
    gevent.sleep(600)


if __name__ == "__main__":
    main()

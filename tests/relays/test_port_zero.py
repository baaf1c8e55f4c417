"""``server.relay: tcp://127.0.0.1:0``: the kernel picks the port, and workers are told it.

Workers connect back to the address in ``RR_RELAY``; handing them the configured
``:0`` meant no worker could ever connect.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from actors import ActorSystem, Payload

ENV_WORKER = Path(__file__).resolve().parents[1] / "workers" / "env.py"


def test_tcp_relay_on_port_zero_starts_workers_and_serves() -> None:
    system = ActorSystem.from_dict(
        {
            "server": {"command": [sys.executable, str(ENV_WORKER)], "relay": "tcp://127.0.0.1:0"},
            "logs": {"level": "error", "mode": "production"},
        }
    ).start()
    try:
        pool = system.new_pool("port0", {"num_workers": 2, "allocate_timeout": "20s"})
        assert system.listener is not None
        port = system.listener.address.port
        assert port != 0
        env = json.loads(pool.exec(Payload(b"", b"{}")).body)
        assert env["RR_RELAY"] == f"tcp://127.0.0.1:{port}"
        assert len(pool.workers()) == 2
    finally:
        system.stop()

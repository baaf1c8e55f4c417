"""The RPC services over a real RPC port: RoadRunner's names, reply shapes and errors.

An ActorSystem with an ``rpc`` section runs on the test's hub; the clients are the
SDK's blocking ``relays.rpc.RPC`` in the hub's threadpool, as a PHP worker would be.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gevent
import gevent.event
import pytest

from actors import ActorSystem, Payload, Pool
from relays.rpc import RPC, ServiceError
from tests.support.hub import wait_for
from tests.support.procs import alive

WORKERS = Path(__file__).resolve().parents[1] / "workers"


def call(address: str, method: str, arg: Any = None) -> Any:
    """One RPC call from a real thread, so the server keeps running on the hub."""

    def go() -> Any:
        with RPC.create(address, timeout=30) as rpc:
            return rpc.call(method, arg)

    return gevent.get_hub().threadpool.apply(go)


@pytest.fixture
def system() -> Iterator[ActorSystem]:
    system = ActorSystem.from_dict(
        {
            "server": {"command": [sys.executable, str(WORKERS / "sleep.py")]},
            "rpc": {"listen": "tcp://127.0.0.1:0"},
            "logs": {"level": "error", "mode": "production"},
        }
    ).start()
    try:
        yield system
    finally:
        system.stop(timeout=5)


def pool(system: ActorSystem, name: str = "http", workers: int = 2) -> Pool:
    return system.new_pool(name, {"num_workers": workers, "allocate_timeout": "20s"})


def test_workers_lists_each_worker_typed_as_php_reads_it(system: ActorSystem) -> None:
    p = pool(system)
    busy = gevent.spawn(p.exec, Payload(b"1"))
    gevent.sleep(0.3)
    reply = call(system.rpc.address, "informer.Workers", "http")
    busy.get(timeout=10)
    workers = reply["workers"]
    assert sorted(w["pid"] for w in workers) == sorted(w["pid"] for w in p.workers())
    assert sorted(w["statusStr"] for w in workers) == ["ready", "working"]
    for w in workers:
        assert list(w) == [
            "pid",
            "status",
            "numExecs",
            "created",
            "memoryUsage",
            "CPUPercent",
            "command",
            "statusStr",
        ]
        assert all(type(w[k]) is int for k in ("pid", "status", "numExecs", "created"))
        assert type(w["memoryUsage"]) is int and w["memoryUsage"] > 0
        assert type(w["CPUPercent"]) is float
    assert {w["status"] for w in workers} == {1, 2}


def test_list_and_unknown_plugins(system: ActorSystem) -> None:
    pool(system, "http", 1)
    pool(system, "jobs", 1)
    address = system.rpc.address
    assert call(address, "informer.List", True) == ["http", "jobs"]
    assert call(address, "resetter.List", True) == ["http", "jobs"]
    assert call(address, "informer.Workers", "nope") == {"workers": None}
    assert call(address, "informer.Jobs", "http") is None
    with pytest.raises(ServiceError, match="no such plugin: nope"):
        call(address, "resetter.Reset", "nope")


def test_reset_replaces_every_worker(system: ActorSystem) -> None:
    p = pool(system)
    before = {w["pid"] for w in p.workers()}
    assert call(system.rpc.address, "resetter.Reset", "http") is True
    after = {w["pid"] for w in p.workers()}
    assert len(after) == 2 and not before & after
    assert not [pid for pid in before if alive(pid)]
    assert p.exec(Payload(b"0")).body == b"slept"


def test_version_and_config(system: ActorSystem) -> None:
    address = system.rpc.address
    assert call(address, "rpc.Version", True) == "2025.1.15"
    config = json.loads(base64.b64decode(call(address, "rpc.Config", True)))
    assert config["rpc"] == {"listen": "tcp://127.0.0.1:0"}


def test_workers_get_the_bound_rpc_address(system: ActorSystem) -> None:
    envs = system.new_pool(
        "env",
        {"num_workers": 1, "command": [sys.executable, str(WORKERS / "env.py")]},
    )
    env = json.loads(envs.exec(Payload(b"env")).body)
    assert env["RR_RPC"] == system.rpc.address
    assert not system.rpc.address.endswith(":0")


def test_add_and_remove_workers_under_load(system: ActorSystem) -> None:
    p = pool(system)
    address = system.rpc.address
    stop, failures, answered = gevent.event.Event(), [], [0]

    def client() -> None:
        for _ in range(2000):  # bounded
            if stop.is_set():
                return
            try:
                p.exec(Payload(b"0.01"))
                answered[0] += 1
            except Exception as exc:
                failures.append(repr(exc))

    clients = [gevent.spawn(client) for _ in range(6)]
    try:
        before = {w["pid"] for w in p.workers()}
        assert call(address, "informer.AddWorker", "http") is True
        assert len(p.workers()) == 3
        added = {w["pid"] for w in p.workers()} - before
        assert call(address, "informer.AddWorker", "http") is True
        assert len(p.workers()) == 4
        seen = {w["pid"] for w in p.workers()}
        assert call(address, "informer.RemoveWorker", "http") is True
        assert call(address, "informer.RemoveWorker", "http") is True
        assert len(p.workers()) == 2
        gevent.sleep(0.3)
    finally:
        stop.set()
        gevent.joinall(clients, timeout=20)
    assert not failures, failures[:3]
    assert answered[0] > 20
    assert added
    removed = seen - {w["pid"] for w in p.workers()}
    assert len(removed) == 2
    wait_for(lambda: not [pid for pid in removed if alive(pid)], what="removed workers exit")
    # The new size is the pool's size from now on: a reset keeps it.
    call(address, "informer.AddWorker", "http")
    p.reset()
    assert len(p.workers()) == 3


def test_the_last_worker_cannot_be_removed(system: ActorSystem) -> None:
    pool(system, "http", 1)
    with pytest.raises(ServiceError, match="has one worker left"):
        call(system.rpc.address, "informer.RemoveWorker", "http")
    with pytest.raises(ServiceError, match="no such plugin: nope"):
        call(system.rpc.address, "informer.AddWorker", "nope")

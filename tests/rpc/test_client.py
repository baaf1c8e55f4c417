"""The worker SDK's client (relays/rpc.py) against the real server, in threads and a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

from actors.rpc import RpcServer, ServiceError, ServiceRegistry
from relays.frame import FrameReader, encode_frame
from relays.rpc import (
    CODEC_PROTO,
    CODEC_RAW,
    RPC,
    Collector,
    Metrics,
    MetricsError,
    RPCError,
    WorkerPool,
)
from relays.rpc import ServiceError as ClientServiceError

from .conftest import in_thread

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]


class Informer:
    """informer.* with the reply shapes of RoadRunner v5 (spec section 3.4)."""

    def __init__(self) -> None:
        self.workers: list[dict[str, Any]] = [
            {
                "pid": 11,
                "status": 1,
                "numExecs": 0,
                "created": 1,
                "memoryUsage": 0,
                "CPUPercent": 0.0,
                "command": "",
                "statusStr": "ready",
            },
        ]

    def Workers(self, plugin: str) -> dict[str, Any]:
        return {"workers": self.workers if plugin == "http" else None}

    def AddWorker(self, plugin: str) -> bool:
        if plugin != "http":
            raise ServiceError(f"plugin {plugin} does not support workers management")
        self.workers.append(dict(self.workers[0], pid=12))
        return False

    def RemoveWorker(self, plugin: str) -> bool:
        self.workers.pop()
        return False


class MetricsService:
    """metrics.*: records the calls, refuses a second Declare the way RoadRunner words it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.declared: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        if name in ("Add", "Sub", "Set", "Observe", "Unregister"):
            return lambda arg: self.calls.append((name, arg)) or True
        raise AttributeError(name)

    def Declare(self, arg: dict[str, Any]) -> bool:
        if arg["name"] in self.declared:
            raise ServiceError("tried to register existing collector")
        self.declared.add(arg["name"])
        self.calls.append(("Declare", arg))
        return True


@pytest.fixture
def services(registry: ServiceRegistry) -> tuple[Informer, MetricsService]:
    informer, metrics = Informer(), MetricsService()
    registry.register("informer", informer)
    registry.register("metrics", metrics)
    return informer, metrics


def test_calls_in_every_codec(server: RpcServer) -> None:
    def scenario(address: str) -> list[Any]:
        with RPC.create(address, timeout=10) as rpc:
            return [
                rpc.call("Demo.Dict", "http"),
                rpc.call("Demo.Echo", None),
                rpc.call("Demo.Bytes", b"\x00\x01", codec=CODEC_RAW),
                rpc.call("Demo.Bytes", "text", codec=CODEC_RAW),
                rpc.with_codec(CODEC_PROTO).call("Demo.Bytes", b"\x0a\x04http"),
                rpc.with_service_prefix("Demo").call("echo", [1, "two"]),
                rpc.call("Demo.Bytes", None),  # bytes in a JSON reply: base64, like Go
            ]

    assert in_thread(scenario, server.address) == [
        {"workers": [{"pid": 1, "statusStr": "ready"}], "arg": "http"},
        None,
        b"\x00\x01",
        b"text",
        b"\x0a\x04http",
        [1, "two"],
        "AHJhd/8=",
    ]


def test_error_reply_raises_with_phps_wording_and_the_client_goes_on(server: RpcServer) -> None:
    def scenario(address: str) -> tuple[str, str, Any]:
        rpc = RPC(address, timeout=10)
        with pytest.raises(ClientServiceError) as info:
            rpc.call("Demo.Fail", "foo")
        with pytest.raises(ClientServiceError) as missing:
            rpc.call("Nope.Method", 1)
        after = rpc.call("Demo.Echo", "still here")
        rpc.close()
        with pytest.raises(RPCError, match=r"is unusable \(it was closed\); create a new RPC"):
            rpc.call("Demo.Echo", 1)
        return str(info.value), missing.value.text, after

    text, missing, after = in_thread(scenario, server.address)
    assert text == f"Error 'no such plugin: foo' on {server.address}"
    assert missing == "rpc: can't find service Nope.Method"
    assert after == "still here"


def test_worker_pool_helpers(server: RpcServer, services: tuple[Informer, MetricsService]) -> None:
    def scenario(address: str) -> tuple[Any, ...]:
        pool = WorkerPool(RPC.create(address, timeout=10))
        before = pool.countWorkers("http")
        pool.addWorker("http")
        after = pool.count_workers("http")
        pids = [w["pid"] for w in pool.getWorkers("http")]
        pool.removeWorker("http")
        with pytest.raises(ClientServiceError, match="does not support workers management"):
            pool.add_worker("tcp")
        return before, after, pids, pool.get_workers("nope")

    assert in_thread(scenario, server.address) == (1, 2, [11, 12], [])
    assert len(services[0].workers) == 1


def test_metrics_helpers(server: RpcServer, services: tuple[Informer, MetricsService]) -> None:
    def scenario(address: str) -> None:
        metrics = Metrics(RPC.create(address, timeout=10))
        collector = Collector.histogram(0.1, 1.0, help="latency", labels=("route",))
        metrics.declare("latency", collector)
        metrics.declare("latency", collector)  # again: suppressed, as in PHP
        metrics.observe("latency", 0.5, ["/"])
        metrics.add("hits", 1)
        metrics.sub("inflight", 2.0)
        metrics.set("temp", 3.5, ("room",))
        metrics.unregister("temp")

    in_thread(scenario, server.address)
    assert services[1].calls == [
        (
            "Declare",
            {
                "name": "latency",
                "collector": {
                    "namespace": "",
                    "subsystem": "",
                    "type": "histogram",
                    "help": "latency",
                    "labels": ["route"],
                    "buckets": [0.1, 1.0],
                },
            },
        ),
        ("Observe", {"name": "latency", "value": 0.5, "labels": ["/"]}),
        ("Add", {"name": "hits", "value": 1, "labels": []}),
        ("Sub", {"name": "inflight", "value": 2.0, "labels": []}),
        ("Set", {"name": "temp", "value": 3.5, "labels": ["room"]}),
        ("Unregister", "temp"),
    ]


def test_metrics_errors_are_metrics_errors(server: RpcServer, registry: ServiceRegistry) -> None:
    class Refusing:
        def Add(self, arg: Any) -> None:
            raise ServiceError("invalid metric type")

    registry.register("metrics", Refusing())

    def scenario(address: str) -> str:
        with pytest.raises(MetricsError) as info:
            Metrics(RPC.create(address, timeout=10)).add("x", 1)
        return str(info.value)

    assert in_thread(scenario, server.address) == f"Error 'invalid metric type' on {server.address}"


def test_connection_refused_says_what_to_check() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(
        RPCError, match=r"cannot connect to the RPC server at tcp://127\.0\.0\.1:\d+"
    ):
        RPC.create(f"tcp://127.0.0.1:{port}", timeout=2)
    with pytest.raises(RPCError, match="invalid RPC address"):
        RPC.create("pipes")


def test_a_reply_with_the_wrong_sequence_is_refused() -> None:
    """A server that answers seq 5 to seq 1: the client raises and drops the connection."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"

        def fake_server() -> None:
            conn, _ = listener.accept()
            with conn:
                FrameReader(conn.recv).read_frame()
                conn.sendall(encode_frame(b"S.Mnull", 0x08, 0, (5, 3)))
                conn.recv(1)

        thread = threading.Thread(target=fake_server)
        thread.start()
        rpc = RPC(address, timeout=5)
        with pytest.raises(RPCError, match="sequence mismatch: sent 1, got 5"):
            rpc.call("S.M", None)
        with pytest.raises(RPCError, match=r"unusable \(reply to S\.M was out of sequence\)"):
            rpc.call("S.M", None)
        rpc.close()
        thread.join(5)


def test_sdk_in_a_worker_process_uses_rr_rpc_and_never_imports_gevent(server: RpcServer) -> None:
    script = textwrap.dedent(
        """
        import sys
        from relays.rpc import RPC
        rpc = RPC.create()
        print(rpc.call("Demo.Echo", {"from": "worker"}), "gevent" in sys.modules)
        """
    )

    def run() -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, RR_RPC=server.address, PYTHONPATH=str(ROOT))
        return subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=30
        )

    done = in_thread(run)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "{'from': 'worker'} False"


@pytest.mark.skipif(shutil.which("php") is None, reason="php-cli is not installed")
def test_php_client_byte_for_byte(server: RpcServer) -> None:
    """PHP's RPC::call framing (inlined, no composer) against the server, over tcp and unix."""

    def run() -> subprocess.CompletedProcess[str]:
        argv = ["php", str(Path(__file__).with_name("php_rpc_client.php")), server.address]
        argv += ["Demo.Dict", '"http"', "Demo.Fail", '"foo"', "Demo.Echo", '{"a":[1,2]}']
        return subprocess.run(argv, capture_output=True, text=True, timeout=30)

    done = in_thread(run)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == [
        {"workers": [{"pid": 1, "statusStr": "ready"}], "arg": "http"},
        {"error": f"Error 'no such plugin: foo' on {server.address}"},
        {"a": [1, 2]},
    ]

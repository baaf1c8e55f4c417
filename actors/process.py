"""Spawning one worker process: argv, environment, credentials, process group.

Everything about the operating-system side of a worker lives here, so that
:mod:`actors.worker` only deals with the relay and the state machine.
"""

from __future__ import annotations

import collections
import contextlib
import grp
import logging
import os
import pwd
import shlex
import signal
import subprocess
import sys
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO

import gevent
import gevent.os
import gevent.subprocess

__all__ = [
    "Credentials",
    "SpawnError",
    "WorkerProcess",
    "build_worker_env",
    "kill_all_processes",
    "resolve_credentials",
    "server_environ",
]

log = logging.getLogger("greenrunner.server")

#: RR_VERSION reported to workers.  PHP only checks that it is set; RoadRunner
#: reports its own release here, and a compatible release line is the honest
#: answer for libraries that gate features on it.
RR_VERSION = "2025.1.15"


class SpawnError(Exception):
    """The worker process could not be started (missing binary, bad user...)."""


@dataclass(frozen=True)
class Credentials:
    """Who a worker runs as; ``None`` fields mean "same as the server"."""

    user: str = ""
    uid: int | None = None
    gid: int | None = None
    groups: tuple[int, ...] | None = None
    #: The user's home directory (passwd), for ``HOME``.
    home: str = ""

    def environ(self, env: Mapping[str, str]) -> dict[str, str]:
        """``env`` with ``HOME``, ``USER`` and ``LOGNAME`` of the target user, as ``sudo -H``.

        A worker switched to ``nobody`` but left with ``HOME=/root`` fails on the first
        cache or config file it writes there (composer, pip, git).
        """
        out = dict(env)
        if self.user:
            out.update(HOME=self.home or "/", USER=self.user, LOGNAME=self.user)
        return out


def resolve_credentials(user: str = "", group: str = "", *, key: str = "server") -> Credentials:
    """Turn ``user``/``group`` names into ids, failing at startup, not at spawn.

    RoadRunner ignores ``group`` and takes the user's primary group; here an
    explicit ``group`` wins, and supplementary groups are those of the user
    (``initgroups`` semantics), so file permissions behave as for a login.
    """
    if not user and not group:
        return Credentials()
    uid = gid = None
    home = ""
    groups: tuple[int, ...] | None = None
    if user:
        try:
            pw = pwd.getpwnam(user)
        except KeyError:
            raise SpawnError(
                f"{key}.user: unknown user {user!r} (no such entry in the passwd database); "
                f"create the user or fix {key}.user"
            ) from None
        uid, gid, home = pw.pw_uid, pw.pw_gid, pw.pw_dir
    if group:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise SpawnError(
                f"{key}.group: unknown group {group!r}; create the group or fix {key}.group"
            ) from None
    if user:
        assert gid is not None
        groups = tuple(os.getgrouplist(user, gid))
    if os.geteuid() != 0 and (uid not in (None, os.geteuid()) or gid not in (None, os.getegid())):
        raise SpawnError(
            f"{key}.user/{key}.group ask to run workers as {user or '-'}:{group or '-'}, "
            f"but Greenrunner runs as uid {os.geteuid()}; switching user needs root. "
            f"Start Greenrunner as root or remove {key}.user/{key}.group"
        )
    return Credentials(user=user, uid=uid, gid=gid, groups=groups, home=home)


def server_environ(base: Mapping[str, str]) -> dict[str, str]:
    """The environment a worker inherits: ``base`` as an activated virtualenv would have it.

    A server installed in a virtualenv and started by its full path (a systemd unit, a
    Dockerfile ``CMD``) runs without the venv on ``PATH``, so a worker command such as
    ``python3 -m relays.wsgi app:app`` would find the system ``python3``, which lacks the
    SDK and the app's packages. Putting the server interpreter's ``bin`` directory first on
    ``PATH`` and setting ``VIRTUAL_ENV`` is what ``source .venv/bin/activate`` does. Outside
    a virtualenv nothing changes. ``server.env.PATH`` (applied later) overrides it.
    """
    env = dict(base)
    if sys.prefix == sys.base_prefix:  # not in a virtualenv
        return env
    bindir = os.path.dirname(os.path.abspath(sys.executable))
    entries = [p for p in env.get("PATH", os.defpath).split(os.pathsep) if p and p != bindir]
    env["PATH"] = os.pathsep.join([bindir, *entries])
    env["VIRTUAL_ENV"] = sys.prefix
    env.pop("PYTHONHOME", None)
    return env


def build_worker_env(
    *,
    relay: str,
    server_env: Mapping[str, str],
    plugin_env: Mapping[str, str],
    rpc: str | None = None,
    base: Mapping[str, str] | None = None,
    credentials: Credentials | None = None,
) -> dict[str, str]:
    """Compose a worker's environment in RoadRunner's order (later wins).

    Inherited (with the server's virtualenv first on ``PATH``, see
    :func:`server_environ`, and the target user's ``HOME``/``USER``/``LOGNAME`` when
    ``server.user`` is set), ``RR_RELAY``, ``RR_RPC``, ``server.env`` (upper-cased),
    ``RR_VERSION``, then the plugin's (``RR_MODE``).
    """
    env = server_environ(os.environ if base is None else base)
    if credentials is not None:
        env = credentials.environ(env)
    env["RR_RELAY"] = relay
    if rpc:
        env["RR_RPC"] = rpc
    for k, v in server_env.items():
        env[k.upper()] = os.path.expandvars(str(v))
    env["RR_VERSION"] = RR_VERSION
    for k, v in plugin_env.items():
        env[k.upper()] = str(v)
    return env


LineSink = Callable[[int, bytes], None]

#: Bytes read from a worker's stderr per wake-up, and lines logged before yielding the hub:
#: each line is formatted on the hub (~10-20 us), so a turn costs a few milliseconds and a
#: worker flooding its stderr cannot hold up requests for longer than that at a time.
_READ_CHUNK = 16384
_LINES_PER_TURN = 128
#: How a turn yields: a timer, not ``sleep(0)``.  ``sleep(0)`` only queues a callback, and the
#: hub runs queued callbacks back to back (it looks at the clock every 50 of them), so turns of
#: a millisecond each still held the hub for hundreds of ms; a timer makes the loop poll, so
#: every socket and timer that is ready gets its turn in between.
_PAUSE = 0.0001


def _default_sink(pid: int, line: bytes) -> None:
    try:
        from actors.logs import forward_worker_output
    except ImportError:  # pragma: no cover - logs module missing only mid-bootstrap
        log.info(line.decode("utf-8", "backslashreplace"), extra={"fields": {"pid": pid}})
        return
    forward_worker_output(pid, line)


@dataclass(eq=False)
class WorkerProcess:
    """A started worker process with its stderr forwarded line by line.

    The last lines of stderr are kept so that a worker dying at boot can be
    reported with its own explanation (a traceback, a PHP fatal error).
    """

    popen: gevent.subprocess.Popen
    command: list[str]
    tail: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=20))
    _readers: list[gevent.Greenlet] = field(default_factory=list)
    #: stdin/stdout are the relay (so stdout is not forwarded to the logs).
    pipes: bool = False
    #: The server sent the live process a signal (a kill, exec_ttl, a stop timeout).
    signalled: bool = False

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def command_line(self) -> str:
        return shlex.join(self.command)

    @classmethod
    def spawn(
        cls,
        command: Sequence[str],
        env: Mapping[str, str],
        *,
        pipes: bool,
        credentials: Credentials | None = None,
        cwd: str | None = None,
        sink: LineSink | None = None,
        key: str = "server.command",
    ) -> WorkerProcess:
        """Start ``command`` (no shell) in its own process group.

        With ``pipes`` the child's stdin/stdout are the relay; otherwise they
        are not used by the protocol and stdout is forwarded like stderr.
        """
        if not command or not command[0]:
            raise SpawnError(f"{key} should not be empty")
        creds = credentials or Credentials()
        kwargs: dict = {}
        if creds.uid is not None:
            kwargs["user"] = creds.uid
        if creds.gid is not None:
            kwargs["group"] = creds.gid
        if creds.groups is not None:
            kwargs["extra_groups"] = list(creds.groups)
        try:
            popen = gevent.subprocess.Popen(
                list(command),
                stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=dict(env),
                cwd=cwd,
                close_fds=True,
                process_group=0,
                **kwargs,
            )
        except FileNotFoundError as exc:
            missing = command[0] if exc.filename in (None, command[0]) else exc.filename
            where = "in $PATH" if os.sep not in command[0] else "(no such file)"
            raise SpawnError(
                f'{key}: exec: "{missing}": executable file not found {where}; '
                f"check {key} (running {shlex.join(command)!r} from {cwd or os.getcwd()})"
            ) from None
        except PermissionError:
            raise SpawnError(
                f'{key}: exec: "{command[0]}": permission denied; make it executable or '
                f"run it through its interpreter"
            ) from None
        except OSError as exc:
            raise SpawnError(f"{key}: cannot start {shlex.join(command)!r}: {exc}") from None
        proc = cls(popen=popen, command=list(command), pipes=pipes)
        _SPAWNED.add(proc)
        sink = sink or _default_sink
        streams = [popen.stderr] if pipes else [popen.stderr, popen.stdout]
        for stream in streams:
            fd = stream.fileno()
            gevent.os.make_nonblocking(fd)
            proc._readers.append(gevent.spawn(proc._forward, stream, sink))
        return proc

    def _forward(self, stream: IO[bytes], sink: LineSink) -> None:
        """Forward complete lines as they come; never truncate, never block the hub."""
        fd = stream.fileno()
        pid = self.popen.pid
        pending = b""
        try:
            while True:
                try:
                    chunk = gevent.os.nb_read(fd, _READ_CHUNK)
                except OSError:
                    break
                if not chunk:
                    break
                pending += chunk
                if b"\n" in chunk:
                    *lines, pending = pending.split(b"\n")
                    for count, line in enumerate(lines, 1):
                        self._emit(sink, pid, line)
                        if not count % _LINES_PER_TURN:
                            gevent.sleep(_PAUSE)
                # nb_read returns at once while the pipe has data, so a worker writing without
                # pause would keep this loop on the hub for as long as it writes: yield after
                # every read.  A worker that outpaces us fills its pipe and waits (the
                # writer thread drops and counts what its own queue cannot hold).
                gevent.sleep(_PAUSE)
            if pending:
                self._emit(sink, pid, pending)
        finally:
            stream.close()

    def _emit(self, sink: LineSink, pid: int, line: bytes) -> None:
        if line.endswith(b"\r"):
            line = line[:-1]
        self.tail.append(line.decode("utf-8", "backslashreplace"))
        try:
            sink(pid, line)
        except Exception:  # a logging failure must never kill the forwarder
            log.exception("cannot forward worker output")

    # -- lifecycle --------------------------------------------------------

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait for exit; return the status, or None on timeout."""
        try:
            return self.popen.wait(timeout=timeout)
        except gevent.subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """SIGKILL the worker and everything left in its process group."""
        self.signal_group(signal.SIGKILL)

    @property
    def killed_from_outside(self) -> bool:
        """It died of a signal the server did not send (an operator, the OOM killer)."""
        code = self.popen.returncode
        return code is not None and code < 0 and not self.signalled

    def _running(self) -> bool:
        """Alive, without reaping it (the exit watcher owns the reaping) and without yielding."""
        if self.popen.returncode is not None:
            return False
        try:
            return os.waitid(os.P_PID, self.popen.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None
        except ChildProcessError:  # reaped already
            return False

    def signal_group(self, sig: int) -> None:
        pid = self.popen.pid
        if not self.signalled and self._running():
            self.signalled = True  # a signal to a dead process does not explain its death
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                if self.popen.poll() is None:
                    os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def drain_output(self, timeout: float = 1.0) -> None:
        """Let the forwarders read what the process wrote before dying."""
        gevent.joinall(self._readers, timeout=timeout)

    def describe_exit(self) -> str:
        code = self.popen.poll()
        if code is None:
            return "is still running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return f"was killed by signal {name}"
        return f"exited with status {code}"

    def stderr_tail(self, lines: int = 10) -> str:
        tail = list(self.tail)[-lines:]
        return "\n".join(f"    {line}" for line in tail)

    def close(self) -> None:
        """Release the pipes the relay and forwarders do not own; idempotent.

        The relay works on duplicates of stdin/stdout, and the forwarders
        close the streams they read, so what is left here is this object's
        own copy of the pipes.
        """
        popen = self.popen
        streams = [popen.stdin, popen.stdout] if self.pipes else [popen.stdin]
        for stream in streams:
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()


#: Every process started here and not yet collected, for :func:`kill_all_processes`.
_SPAWNED: weakref.WeakSet[WorkerProcess] = weakref.WeakSet()


def kill_all_processes() -> None:
    """SIGKILL every process started here that is still running, with its process group.

    For a forced exit (a second stop signal): the graceful path stops workers one by
    one, but a process exiting at once would leave busy workers running as orphans.
    Only processes not yet reaped are signalled, so a recycled pid is never hit.
    """
    for proc in list(_SPAWNED):
        if proc.alive():
            proc.kill()

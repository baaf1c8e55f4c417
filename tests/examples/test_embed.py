"""examples/embed.py runs as documented: exit 0 and output a reader can follow."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.examples._serve import ROOT
from tests.support.procs import alive


def test_embed_example_runs_and_explains_itself() -> None:
    # From another directory: the example must not depend on the caller's cwd.
    proc = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "embed.py")],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    answers = re.findall(r"'echo: request (\d+)' answered by pid (\d+)", out)
    assert sorted(int(i) for i, _ in answers) == list(range(20)), out
    served_by = {int(pid) for _, pid in answers}
    assert 1 <= len(served_by) <= 2, out

    before, _, after = out.partition("workers after reset (new processes):")
    assert after, out
    rows = r"pid (\d+): (\w+), (\d+) execs, [\d.]+ MiB"
    old = re.findall(rows, before)
    new = re.findall(rows, after)
    assert len(old) == len(new) == 2, out
    assert sum(int(n) for _, _, n in old) == 20, out
    assert all(state == "ready" and n == "0" for _, state, n in new), out
    assert not {p for p, _, _ in old} & {p for p, _, _ in new}, "reset must replace the workers"
    assert out.rstrip().endswith("stopped"), out
    assert not [p for p, _, _ in old + new if alive(int(p))], "workers outlived the example"

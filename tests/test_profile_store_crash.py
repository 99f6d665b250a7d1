"""A writer killed in the middle of a transaction loses its own profiles and nobody else's.

The child process opens a transaction, writes many profiles (enough that SQLite
spills uncommitted pages into the write-ahead log), says so on stdout and
waits; the parent kills it with SIGKILL -- no handler, no cleanup -- and opens
the store again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from murakkab.profiles.schema import WorkflowProfile
from murakkab.profiles.store import ProfileStore
from tests.goldens import ROOT

COMMITTED = 5
HALF_WRITTEN = 20_000

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from murakkab.profiles.schema import WorkflowProfile
    from murakkab.profiles.store import ProfileStore

    store = ProfileStore(Path(sys.argv[1]))
    with store.transaction() as transaction:
        for index in range(int(sys.argv[2])):
            transaction.put(WorkflowProfile(
                "crash_test", (("attempt", index), ("writer", "child")), 0.5,
                100.0, 200.0, 300.0, "measured", "half-written " + "x" * 200,
            ))
        print("inside the transaction", flush=True)
        time.sleep(120)
    """
)


def profile(index: int) -> WorkflowProfile:
    config = (("attempt", index), ("writer", "parent"))
    return WorkflowProfile("crash_test", config, 0.9, None, 10.0, None, "measured", "committed")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_writer_killed_mid_transaction_leaves_the_store_intact(tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles.sqlite3")
    committed = [profile(index) for index in range(COMMITTED)]
    store.put(committed)

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(store.path), str(HALF_WRITTEN)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line == "inside the transaction\n", child.stderr.read() if child.stderr else ""
        wal = store.path.with_name(store.path.name + "-wal")
        assert wal.exists() and wal.stat().st_size > 100_000, (
            "the child's pages never reached the log"
        )
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    reopened = ProfileStore(store.path, timeout_s=1.0)
    assert reopened.stored() == committed
    assert not any("half-written" in p.source for p in reopened.all("workflow"))

    # The dead writer left no lock behind: the next transaction commits.
    extra = profile(COMMITTED)
    reopened.put([extra])
    assert reopened.stored() == sorted([*committed, extra], key=lambda p: p.key)

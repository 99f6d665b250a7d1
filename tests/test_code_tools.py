"""The sandboxed Python interpreter: code.execute and code.run_tests, for real."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

import pytest
from murakkab.stdlib.code_tools import MAX_OUTPUT_BYTES, execute, run_sandboxed, run_tests

from murakkab.executors import Call, ExecutorError, implementation

FIB = "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n"
WRONG_FIB = "def fib(n):\n    return 1 if n < 2 else fib(n - 1) + fib(n - 2)\n"
UNITTEST_FIB = """\
import unittest
from solution import fib

class FibTest(unittest.TestCase):
    def test_one(self):
        self.assertEqual(fib(1), 1)

    def test_ten(self):
        self.assertEqual(fib(10), 55)
"""
PYTEST_FIB = (
    "def test_zero():\n    assert fib(0) == 0\n\ndef test_ten():\n    assert fib(10) == 55\n"
)


def run(program: str, timeout_s: float = 5, memory_mb: int = 256) -> str:
    knobs = {"timeout_s": timeout_s, "memory_mb": memory_mb}
    return str(execute(Call("code.execute", (program,), knobs)))


def report(solutions: list[str], tests: str, timeout_s: float = 5, memory_mb: int = 256) -> str:
    knobs = {"timeout_s": timeout_s, "memory_mb": memory_mb}
    return str(run_tests(Call("code.run_tests", (solutions, tests), knobs)))


def test_both_capabilities_are_declared() -> None:
    for capability in ("code.execute", "code.run_tests"):
        impl = implementation(capability, "subprocess-sandbox")
        assert impl is not None and impl.load() in (execute, run_tests)


def test_prints_come_back() -> None:
    assert run("print('hello')\nprint(6 * 7)") == "hello\n42\n"


def test_an_exception_is_reported_with_its_traceback_and_exit_status() -> None:
    out = run("print('before')\n1 / 0")
    assert out.startswith("before\n[stderr]\n")
    assert 'File "main.py", line 2' in out and "ZeroDivisionError: division by zero" in out
    assert out.endswith("[exit status 1]\n")


def test_an_infinite_loop_hits_the_wall_clock_timeout() -> None:
    start = time.monotonic()
    out = run("while True:\n    pass", timeout_s=0.5)
    assert time.monotonic() - start < 3
    assert "[timed out after 0.5 s (process group killed)]" in out


def test_a_memory_bomb_hits_the_address_space_limit() -> None:
    out = run("hog = []\nwhile True:\n    hog.append(bytearray(10**7))", memory_mb=128)
    assert "MemoryError" in out and "[memory limit of 128 MB exceeded]" in out


def test_no_environment_variable_reaches_user_code(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-leak")
    out = run("import os\nprint(sorted(os.environ))\nprint(os.environ.get('OPENAI_API_KEY'))")
    assert "sk-do-not-leak" not in out and "OPENAI_API_KEY" not in out
    assert out.endswith("None\n")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs user code as another uid")
def test_as_root_user_code_is_unprivileged(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-do-not-leak")
    program = "import os\nprint(os.getuid())\nprint(open(f'/proc/{os.getppid()}/environ').read())"
    out = run(program)
    assert out.startswith("65534\n") and "PermissionError" in out and "sk-do-not-leak" not in out


def test_a_fork_bomb_is_contained_and_killed() -> None:
    bomb = (
        "import os\nprint(os.getpid(), flush=True)\n"
        "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )
    start = time.monotonic()
    out = run(bomb, timeout_s=0.5)
    assert time.monotonic() - start < 4
    assert "[timed out after 0.5 s (process group killed)]" in out
    group = int(out.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # killed processes are reaped by init shortly after
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail(f"processes of group {group} survived the sandbox")


def test_huge_output_is_truncated() -> None:
    out = run("print('x' * 10_000_000)\nprint('done')")
    assert len(out) < MAX_OUTPUT_BYTES + 200
    assert f"[stdout truncated: 10000006 bytes, kept the first {MAX_OUTPUT_BYTES}]" in out


def test_run_tests_reports_a_correct_and_a_wrong_fib() -> None:
    out = report([FIB, WRONG_FIB], PYTEST_FIB)
    assert out.splitlines() == [
        "1 of 2 candidates passed every test",
        "candidate 1: passed 2/2 tests",
        "candidate 2: FAILED 2 of 2 tests; first failure: test_zero: AssertionError "
        "(test_solution.py line 2: assert fib(0) == 0)",
    ]


def test_run_tests_understands_unittest_and_top_level_asserts() -> None:
    out = report([FIB, WRONG_FIB], UNITTEST_FIB)
    assert "candidate 1: passed 2/2 tests" in out
    assert "candidate 2: FAILED 1 of 2 tests; first failure: FibTest.test_ten: " in out
    assert "AssertionError: 89 != 55" in out
    out = report([FIB, "def fib(n)\n    return 0\n"], "assert fib(10) == 55\n")
    assert "candidate 1: passed 1/1 tests" in out
    assert "candidate 2: ERROR the solution failed to import: SyntaxError: expected ':'" in out


def test_run_tests_reports_timeouts_and_memory_kills_as_such() -> None:
    looping = "def fib(n):\n    while True:\n        pass\n"
    hungry = "def fib(n):\n    return len(bytearray(10**9))\n"
    out = report([looping, hungry], PYTEST_FIB, timeout_s=0.5, memory_mb=128)
    assert "candidate 1: ERROR timed out after 0.5 s (process group killed)" in out
    assert "candidate 2: FAILED 2 of 2 tests; first failure: test_zero: MemoryError" in out
    assert out.rstrip().endswith("(memory limit of 128 MB)")


def test_the_cancel_event_kills_the_program_and_removes_its_files() -> None:
    before = set(Path(tempfile.gettempdir()).glob("mkc-sandbox-*"))
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    start = time.monotonic()
    with pytest.raises(ExecutorError, match="cancelled"):
        run_sandboxed({"main.py": "import time\ntime.sleep(25)"}, 30, 256, cancel=cancel)
    assert time.monotonic() - start < 3
    assert set(Path(tempfile.gettempdir()).glob("mkc-sandbox-*")) <= before
    call = Call("code.execute", ("print('never')",), {}, cancel=cancel)  # set: nothing starts
    with pytest.raises(ExecutorError, match="cancelled"):
        execute(call)
    unset = Call("code.execute", ("print('ran')",), {}, cancel=threading.Event())
    assert execute(unset) == "ran\n"

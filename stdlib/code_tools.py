"""The Python interpreter tools: `code.execute` and `code.run_tests` in a subprocess sandbox.

Real: every call starts a fresh `python -I -S -B` (isolated mode, no site-packages:
stdlib only, no .pyc writes) in a new temporary working directory, in its own session and
process group, with an environment of four harmless variables: nothing from
`os.environ` (API keys, tokens) reaches user code. Before user code runs, a
bootstrap sets hard resource limits (soft = hard): address space (`memory_mb`),
CPU seconds (`timeout_s` + 1), file size, open files, core dumps and process
count. A wall-clock deadline (`timeout_s`) kills the whole process group, and
so does the end of the main process (no background leftovers); stdout and
stderr are each kept up to `MAX_OUTPUT_BYTES`, the rest drained and dropped.
The run's cancel event (`Call.cancel`, set when the run is interrupted) is
polled too: once it is set the process group is killed, the working
directory removed, and the call raises `ExecutorError` (no result to cache).

Limits of this sandbox, stated plainly:
- No network isolation: user code can open sockets. Cutting the network needs
  namespaces, seccomp or a firewall, i.e. privileges this tool does not assume.
- The filesystem is visible with the permissions of the uid the code runs as
  (not root: that includes mkc's own /proc/PID/environ, so keep secrets out of
  its environment); only the working directory is fresh, and removed after.
- As root, user code runs as uid/gid 65534 (nobody): RLIMIT_NPROC does not bind
  root, and root could raise its own hard limits or read the parent's
  /proc/PID/environ. The interpreter is the first of `sys.executable`,
  /usr/local/bin/python3, /usr/bin/python3 that uid 65534 can run with its
  stdlib (so it may differ from mkc's); if none can, the call is refused.
- RLIMIT_NPROC counts every task of the uid, so the cap is "what that uid runs
  now + PROCESS_BUDGET"; concurrent sandboxes share it.
- A process that calls setsid() leaves the group and survives the kill; its
  CPU limit still ends it once it has burnt `timeout_s` + 1 CPU seconds.
"""

from __future__ import annotations

import functools
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from murakkab.executors import Call, ExecutorError, Implementation

IMPLEMENTATIONS = tuple(
    Implementation(
        f"code.{name}",
        "subprocess-sandbox",
        ("cpu",),
        "tool",
        f"murakkab.stdlib.code_tools:{name}",
        description=f"{name} in a resource-limited `python -I -S` subprocess",
        unit="call",
    )
    for name in ("run_tests", "execute")
)

MAX_OUTPUT_BYTES = 64 * 1024  # per stream; enough for a test report, small for an LLM prompt
MAX_FILE_BYTES = 16 * 1024 * 1024  # RLIMIT_FSIZE: any file the program writes
MAX_OPEN_FILES = 64  # RLIMIT_NOFILE
PROCESS_BUDGET = 32  # tasks (processes + threads) beyond what the uid already runs
NOBODY = 65534

# Runs first in the child: hard limits, then the program in main.py. A bootstrap
# rather than Popen(preexec_fn=...) because preexec_fn can deadlock when the
# parent has threads (plans may run tools from a thread pool); limits still bind
# before any user code runs, and the child is unprivileged so cannot lift them.
_BOOTSTRAP = """\
import resource, sys
for _arg in sys.argv[1:]:
    _name, _, _value = _arg.partition("=")
    _kind = getattr(resource, _name)
    _hard = resource.getrlimit(_kind)[1]
    _value = int(_value) if _hard == resource.RLIM_INFINITY else min(int(_value), _hard)
    resource.setrlimit(_kind, (_value, _value))
def _hook(kind, value, tb):
    try:
        import traceback
        traceback.print_exception(kind, value, tb.tb_next if tb is not None else None)
    except BaseException:
        sys.__excepthook__(kind, value, tb)
sys.excepthook = _hook
sys.argv = ["main.py"]
sys.stdout.reconfigure(errors="backslashreplace")
sys.stderr.reconfigure(errors="backslashreplace")
with open("main.py", encoding="utf-8") as _file:
    _code = compile(_file.read(), "main.py", "exec")
del _arg, _name, _value, _kind, _hard, _file, resource
exec(_code, {"__name__": "__main__", "__file__": "main.py", "__builtins__": __builtins__})
"""

# main.py for run_tests: import solution.py, run test_solution.py against it,
# write counts to report.json. Stdlib only: the sandbox has no pytest.
_RUNNER = """\
import json, os, sys, traceback, types, unittest
TESTS, SOLUTION = os.path.abspath("test_solution.py"), os.path.abspath("solution.py")
HERE = os.getcwd()
sys.path.insert(0, HERE)
results = {"passed": 0, "failed": 0, "failures": [], "error": None}
def describe(exc):
    text = (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename in (TESTS, SOLUTION)]
    for at in frames[-1:]:
        text += f" ({os.path.basename(at.filename)} line {at.lineno}: {at.line})"
    return text.replace(HERE + os.sep, "")
def record(name, exc):
    results["passed" if exc is None else "failed"] += 1
    if exc is not None:
        results["failures"].append(f"{name}: {describe(exc)}")
def run():
    try:
        import solution
    except BaseException as exc:
        results["error"] = "the solution failed to import: " + describe(exc)
        return
    namespace = dict(vars(solution), __name__="test_solution", __file__=TESTS)
    try:
        with open(TESTS, encoding="utf-8") as file:
            exec(compile(file.read(), TESTS, "exec"), namespace)
    except AssertionError as exc:
        return record("module-level assertions", exc)
    except BaseException as exc:
        results["error"] = "the tests failed to load: " + describe(exc)
        return
    for name, value in list(namespace.items()):
        if isinstance(value, type) and issubclass(value, unittest.TestCase) and (
                value.__module__ == "test_solution"):
            outcome = unittest.TestResult()
            unittest.defaultTestLoader.loadTestsFromTestCase(value).run(outcome)
            bad = outcome.failures + outcome.errors
            results["passed"] += outcome.testsRun - len(bad) - len(outcome.skipped)
            results["failed"] += len(bad)
            for test, text in bad:
                last = (text.strip().splitlines() or ["failed"])[-1]
                results["failures"].append(f"{test.id().split('.', 1)[-1]}: {last}")
        elif (name.startswith("test") and isinstance(value, types.FunctionType)
                and value.__code__.co_filename == TESTS):
            try:
                value()
            except (Exception, SystemExit) as exc:
                record(name, exc)
            else:
                record(name, None)
    if results["passed"] + results["failed"] == 0:
        record("module-level assertions", None)
run()
with open(os.path.join(HERE, "report.json"), "w", encoding="utf-8") as report:
    json.dump(results, report)
"""


@dataclass
class _CappedBuffer:
    data: bytearray = field(default_factory=bytearray)
    total: int = 0

    def add(self, chunk: bytes) -> None:
        self.total += len(chunk)
        self.data += chunk[: max(0, MAX_OUTPUT_BYTES - len(self.data))]

    def text(self, stream: str) -> str:
        text = self.data.decode("utf-8", errors="backslashreplace")
        if self.total > len(self.data):
            text += f"\n[{stream} truncated: {self.total} bytes, kept the first {len(self.data)}]"
        return text


@dataclass(frozen=True)
class SandboxResult:
    """What one sandboxed run produced; `verdict` says how it ended."""

    stdout: str
    stderr: str
    returncode: int
    timed_out: bool
    timeout_s: float
    memory_mb: int
    kept: str | None = None  # the text of the file named by run_sandboxed(keep=...)

    @property
    def memory_exceeded(self) -> bool:
        last = self.stderr.strip().rsplit("\n", 1)[-1]
        return last.startswith("MemoryError") or self.returncode == -signal.SIGSEGV

    @property
    def verdict(self) -> str:
        if self.timed_out:
            return f"timed out after {self.timeout_s:g} s (process group killed)"
        if self.memory_exceeded:
            return f"memory limit of {self.memory_mb} MB exceeded"
        if self.returncode == -signal.SIGKILL:  # soft = hard CPU limit ends in SIGKILL
            return f"killed: CPU time limit of {int(self.timeout_s) + 1} s, or out of memory"
        if self.returncode == -signal.SIGXFSZ:
            return f"file size limit of {MAX_FILE_BYTES} bytes exceeded"
        if self.returncode < 0:
            return f"killed by {signal.Signals(-self.returncode).name}"
        return f"exit status {self.returncode}"


def execute(call: Call) -> str:
    """code.execute(program): what the program prints, then stderr and how it ended."""
    (program,) = call.args
    timeout_s, memory_mb = _limits(call)
    result = run_sandboxed({"main.py": str(program)}, timeout_s, memory_mb, cancel=call.cancel)
    parts = [result.stdout]
    if result.stderr:
        parts.append("[stderr]\n" + result.stderr)
    if result.returncode != 0 or result.timed_out:
        parts.append(f"[{result.verdict}]")
    return "\n".join(part.rstrip("\n") for part in parts if part) + "\n"


def run_tests(call: Call) -> str:
    """code.run_tests(solutions, tests): a per-candidate pass/fail report, one line each.

    Tests may be unittest.TestCase classes, pytest-style `test_*` functions
    (plain asserts, no fixtures) or top-level asserts; they see the solution's
    names directly and can also `import solution`. Each candidate gets its own
    sandbox, one after another. The counts come from a runner inside the sandbox:
    they catch mistakes, not a solution written to forge its own report.
    """
    solutions, tests = call.args
    timeout_s, memory_mb = _limits(call)
    lines, passed = [], 0
    for index, solution in enumerate(solutions, start=1):
        files = {"main.py": _RUNNER, "solution.py": str(solution), "test_solution.py": str(tests)}
        verdict = _candidate_report(files, timeout_s, memory_mb, call.cancel)
        passed += verdict.startswith("passed")
        lines.append(f"candidate {index}: {verdict}")
    return f"{passed} of {len(lines)} candidates passed every test\n" + "\n".join(lines) + "\n"


def _candidate_report(
    files: dict[str, str], timeout_s: float, memory_mb: int, cancel: threading.Event | None
) -> str:
    result = run_sandboxed(files, timeout_s, memory_mb, keep="report.json", cancel=cancel)
    if result.kept is None:
        tail = result.stderr.strip().splitlines()[-1:] or ["no report"]
        detail = "" if result.timed_out or result.memory_exceeded else f": {tail[0]}"
        return f"ERROR {result.verdict}{detail}"
    try:
        counts = json.loads(result.kept)
    except ValueError:  # killed while writing it
        return f"ERROR {result.verdict}: the test report is incomplete"
    total = counts["passed"] + counts["failed"]
    if counts["error"] is not None:
        text = f"ERROR {counts['error']}"
    elif counts["failed"] == 0:
        return f"passed {total}/{total} tests"
    else:
        text = f"FAILED {counts['failed']} of {total} tests; first failure: {counts['failures'][0]}"
    if "MemoryError" in text:
        text += f" (memory limit of {memory_mb} MB)"
    return text


def _limits(call: Call) -> tuple[float, int]:
    timeout_s = float(call.knobs.get("timeout_s", 10))
    memory_mb = int(call.knobs.get("memory_mb", 512))
    if timeout_s <= 0 or memory_mb < 32:
        raise ExecutorError(f"{call.capability}: timeout_s must be > 0 and memory_mb >= 32")
    return timeout_s, memory_mb


def run_sandboxed(
    files: dict[str, str],
    timeout_s: float,
    memory_mb: int,
    keep: str | None = None,
    cancel: threading.Event | None = None,
) -> SandboxResult:
    """Run main.py from `files` in a fresh sandbox; `keep` names a file to return the text of.
    Raises ExecutorError when `cancel` is set before the program ends (its process
    group killed, its files removed)."""
    if cancel is not None and cancel.is_set():
        raise ExecutorError(_CANCELLED)
    python, identity = _interpreter()
    workdir = tempfile.mkdtemp(prefix="mkc-sandbox-")
    try:
        for name, text in files.items():
            Path(workdir, name).write_text(text, encoding="utf-8")
        if identity:
            os.chown(workdir, NOBODY, NOBODY)
        limits = {
            "RLIMIT_AS": memory_mb * 1024 * 1024,
            "RLIMIT_CPU": int(timeout_s) + 1,
            "RLIMIT_FSIZE": MAX_FILE_BYTES,
            "RLIMIT_NOFILE": MAX_OPEN_FILES,
            "RLIMIT_CORE": 0,
            "RLIMIT_NPROC": _tasks_of(NOBODY if identity else os.getuid()) + PROCESS_BUDGET,
        }
        argv = [python, "-I", "-S", "-B", "-c", _BOOTSTRAP]
        argv += [f"{name}={value}" for name, value in limits.items()]
        env = {"PATH": "/usr/bin:/bin", "HOME": workdir, "TMPDIR": workdir, "LC_ALL": "C.UTF-8"}
        process = subprocess.Popen(
            argv,
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            **identity,
        )
        stdout, stderr, timed_out, cancelled = _collect(process, timeout_s, cancel)
        if cancelled:
            raise ExecutorError(_CANCELLED)
        kept = Path(workdir, keep) if keep is not None else None
        kept_text = kept.read_text(encoding="utf-8") if kept and kept.is_file() else None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return SandboxResult(
        stdout.text("stdout"),
        stderr.text("stderr"),
        process.returncode,
        timed_out,
        timeout_s,
        memory_mb,
        kept_text,
    )


def _collect(
    process: subprocess.Popen[bytes], timeout_s: float, cancel: threading.Event | None = None
) -> tuple[_CappedBuffer, _CappedBuffer, bool, bool]:
    """Read both pipes until EOF, the deadline or `cancel`; then kill the process group.
    Returns the two streams, whether the deadline passed and whether `cancel` was set."""
    assert process.stdout is not None and process.stderr is not None
    buffers = (_CappedBuffer(), _CappedBuffer())
    deadline = time.monotonic() + timeout_s
    timed_out = cancelled = False
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ, buffers[0])
        selector.register(process.stderr, selectors.EVENT_READ, buffers[1])
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            for key, _ in selector.select(min(remaining, 0.1)):
                chunk = os.read(key.fd, 65536)
                if chunk:
                    key.data.add(chunk)
                else:
                    selector.unregister(key.fileobj)
            if process.poll() is not None:
                _kill_group(process.pid)  # leftovers holding the pipes open go too
    _kill_group(process.pid)
    process.wait()
    process.stdout.close()
    process.stderr.close()
    return buffers[0], buffers[1], timed_out, cancelled


_CANCELLED = "code sandbox: cancelled (the run was interrupted; process group killed)"


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tasks_of(uid: int) -> int:
    """How many tasks (processes and threads) `uid` runs now: RLIMIT_NPROC counts them all."""
    count = 0
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if not entry.name.isdigit():
            continue
        try:
            if entry.stat().st_uid == uid:
                count += len(os.listdir(f"/proc/{entry.name}/task"))
        except OSError:
            continue
    return count


@functools.cache
def _interpreter() -> tuple[str, dict[str, Any]]:
    """The Python to run and the identity to run it as (empty: the current one)."""
    if os.geteuid() != 0:
        return sys.executable, {}
    identity: dict[str, Any] = {"user": NOBODY, "group": NOBODY, "extra_groups": []}
    candidates = (sys.executable, "/usr/local/bin/python3", "/usr/bin/python3")
    for python in dict.fromkeys(candidates):
        if _runs_unprivileged(python, identity):
            return python, identity
    raise ExecutorError(
        "refusing to run untrusted code as root: no Python interpreter (tried "
        + ", ".join(candidates)
        + f") can run with its standard library as uid {NOBODY}; run mkc as an "
        "unprivileged user or install Python where that uid can read it"
    )


def _runs_unprivileged(python: str, identity: dict[str, Any]) -> bool:
    probe = "import json, traceback, unittest, resource"
    try:
        done = subprocess.run(
            [python, "-I", "-S", "-B", "-c", probe],
            cwd="/",
            env={"PATH": "/usr/bin:/bin"},
            capture_output=True,
            timeout=30,
            **identity,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0

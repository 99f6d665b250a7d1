"""Golden files: inputs under tests/golden/, expected outputs beside them.

    python -m tests.goldens          # regenerate every golden after a deliberate change

Diagnostics goldens (`diagnostics/NAME.mk` or `.mkir`) record what `mkc`
prints and its exit status; a first line `# mkc: ARGS` replaces the default
command (`check FILE` for .mk, `opt FILE` for .mkir), `{file}` standing for
the input. IR goldens (`ir/NAME.mkir`) are the IR of `examples/NAME.mk`.
Pass goldens (`passes/NAME.mkir.expected`) are `passes/NAME.mkir` after pass NAME.
The fleet golden (`fleet/plan.txt`) is `mkc fleet plan` of the reference pair.
Planner goldens (`planner/NAME.mk`, `planner/NAME.explain.txt`) are what `mkc plan`
prints for the descriptions of PLANNER_ARGS, without and with `--explain`.
Plan goldens (`plans/NAME.py`, `plans/NAME.ray.py`) are what `mkc compile --emit
plan` writes for `examples/NAME.mk` with the python and ray backends, and for
`plans/hostile.mk`, a job whose strings try to break out of the emitted code.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import sys
from pathlib import Path

from murakkab.cli import main

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
DIAGNOSTICS = GOLDEN / "diagnostics"
IR = GOLDEN / "ir"
PASSES = GOLDEN / "passes"
EXPLAIN = GOLDEN / "explain"
PLANS = GOLDEN / "plans"
FLEET = GOLDEN / "fleet"
FLEET_ARGS = [
    "fleet",
    "plan",
    "examples/video_qa.mk",
    "examples/code_gen_debate.mk",
    "--scale",
    "0.01",
    "--hour",
    "11",
]
HOSTILE_JOB = PLANS / "hostile.mk"
PLANNER = GOLDEN / "planner"
# `mkc plan` goldens: NAME -> its arguments; NAME.mk is the file, NAME.explain.txt
# the same with --explain (candidates, scores, the plans compared).
PLANNER_ARGS = {
    "summarise_talk": [
        "Summarise the talk in this video.",
        "--input",
        "video:video=media/lecture.mp4",
        "--slo",
        "latency < 30 s, minimize energy",
    ],
    "verify_steps": [
        "Read the code the student shows in the video, write a reference solution to the"
        " problem in parallel, and compare the two.",
        "--input",
        "lecture:video=media/lecture.mp4",
        "--input",
        "problem:text=Write fib(n).",
        "--library",
        "examples/video_qa.mk",
        "--library",
        "examples/code_gen_debate.mk",
    ],
}
EXPLAIN_ARGS = ["--cluster", "examples/clusters/cloud_a100_h100.toml"]
CLUSTER = ROOT / "examples" / "clusters" / "cloud_a100_h100.toml"  # what tests plan for
CLIP_CHECKPOINT = "/nonexistent/clip-weights.pt"  # named, never opened, at compile time
EXAMPLES = ROOT / "examples"


def diagnostic_inputs() -> list[Path]:
    return sorted(p for p in DIAGNOSTICS.iterdir() if p.suffix in (".mk", ".mkir"))


def command_for(path: Path) -> list[str]:
    relative = path.resolve().relative_to(ROOT).as_posix()
    first = path.read_bytes().split(b"\n", 1)[0].decode("utf-8", "replace")
    if first.startswith("# mkc:"):
        return shlex.split(first.removeprefix("# mkc:").replace("{file}", relative))
    return ["opt", relative] if path.suffix == ".mkir" else ["check", relative]


def run_mkc(args: list[str], pin_cluster: bool = True) -> tuple[int, str, str]:
    """Run `mkc ARGS` in-process from the repository root, with the shipped priors only
    (a profile store the user has measured into must not change a golden) and the
    reference cloud as the cluster (the machine running the tests must not either)."""
    out, err = io.StringIO(), io.StringIO()
    pinned = {
        "MKC_PROFILE_DB": str(ROOT / "tests" / "golden" / "no-such-store.sqlite3"),
        "MKC_CLUSTER": str(CLUSTER) if pin_cluster else "",
        # user-supplied weights as the reference scenarios assume (tests/conftest.py)
        "MKC_CLIP_CHECKPOINT": CLIP_CHECKPOINT,
        "MKC_WHISPER_CHECKPOINT": "",
    }
    saved = {name: os.environ.get(name) for name in pinned}
    os.environ.update(pinned)
    try:
        with (
            contextlib.chdir(ROOT),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            status = main(args)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return status, out.getvalue(), err.getvalue()


def diagnostic_record(path: Path) -> str:
    status, out, err = run_mkc(command_for(path))
    return f"exit: {status}\n--- stdout\n{out}--- stderr\n{err}"


def expected_path(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".expected")


def example_ir(name: str) -> str:
    status, out, err = run_mkc(["compile", f"examples/{name}.mk", "--emit", "ir"])
    if status != 0:
        raise AssertionError(f"examples/{name}.mk does not compile:\n{err}")
    return out


def example_explain(name: str) -> str:
    """`mkc explain` of an example on the reference cluster: the format is a product."""
    status, out, err = run_mkc(["explain", f"examples/{name}.mk", *EXPLAIN_ARGS])
    if status != 0:
        raise AssertionError(f"mkc explain examples/{name}.mk fails:\n{err}")
    return out


def example_plan(name: str, backend: str) -> str:
    """The plan `mkc compile --emit plan --backend BACKEND` writes for an example."""
    return _plan(f"examples/{name}.mk", backend)


def hostile_plan(backend: str) -> str:
    return _plan(HOSTILE_JOB.relative_to(ROOT).as_posix(), backend)


def _plan(path: str, backend: str) -> str:
    status, out, err = run_mkc(["compile", path, "--emit", "plan", "--backend", backend, "-q"])
    if status != 0:
        raise AssertionError(f"{path} does not compile to a {backend} plan:\n{err}")
    return out


def plan_golden(name: str, backend: str) -> Path:
    return PLANS / (f"{name}.py" if backend == "python" else f"{name}.{backend}.py")


def fleet_plan() -> str:
    """`mkc fleet plan` of the reference pair at 1% load (solver time masked): the format."""
    status, out, err = run_mkc(FLEET_ARGS)
    if status != 0:
        raise AssertionError(f"mkc {' '.join(FLEET_ARGS)} fails:\n{err}")
    return re.sub(r"(optimal|feasible) in \d+\.\d+ s", r"\1 in <time> s", out)


def planner_output(name: str, explain: bool = False) -> str:
    """What `mkc plan` prints for PLANNER_ARGS[name] (with --explain: the explanation too)."""
    args = ["plan", *PLANNER_ARGS[name], *(["--explain"] if explain else [])]
    status, out, err = run_mkc(args)
    if status != 0:
        raise AssertionError(f"mkc {shlex.join(args)} fails:\n{err}")
    return out


def examples() -> list[str]:
    return sorted(p.stem for p in EXAMPLES.glob("*.mk"))


def regenerate() -> None:
    for path in diagnostic_inputs():
        expected_path(path).write_text(diagnostic_record(path), encoding="utf-8")
    IR.mkdir(parents=True, exist_ok=True)
    for name in examples():
        (IR / f"{name}.mkir").write_text(example_ir(name), encoding="utf-8")
    pass_inputs = sorted(PASSES.glob("*.mkir"))
    for path in pass_inputs:
        status, out, err = run_mkc(["opt", f"tests/golden/passes/{path.name}", "-p", path.stem])
        if status != 0:
            raise AssertionError(f"pass golden {path.name} does not run:\n{err}")
        expected_path(path).write_text(out, encoding="utf-8")
    EXPLAIN.mkdir(exist_ok=True)
    for name in examples():
        (EXPLAIN / f"{name}.txt").write_text(example_explain(name), encoding="utf-8")
    PLANS.mkdir(exist_ok=True)
    for backend in ("python", "ray"):
        for name in examples():
            plan_golden(name, backend).write_text(example_plan(name, backend), encoding="utf-8")
        plan_golden("hostile", backend).write_text(hostile_plan(backend), encoding="utf-8")
    FLEET.mkdir(exist_ok=True)
    (FLEET / "plan.txt").write_text(fleet_plan(), encoding="utf-8")
    PLANNER.mkdir(exist_ok=True)
    for name in PLANNER_ARGS:
        (PLANNER / f"{name}.mk").write_text(planner_output(name), encoding="utf-8")
        explained = planner_output(name, explain=True)
        (PLANNER / f"{name}.explain.txt").write_text(explained, encoding="utf-8")
    counts = (
        f"{len(diagnostic_inputs())} diagnostics, {len(examples())} IR, {len(pass_inputs)} pass, "
        f"{2 * (len(examples()) + 1)} plan, {2 * len(PLANNER_ARGS)} planner"
    )
    print(f"regenerated {counts} goldens")


if __name__ == "__main__":
    sys.exit(regenerate())

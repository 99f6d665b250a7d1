"""`mkc plan`'s default planner over the description set of examples/descriptions.toml.

    python bench/planner.py              # MiniLM (the default) against the lexical scorer
    python bench/planner.py --repeat 5   # the median of 5 timings per description

For each description: plan it (decompose, score, search, write, type-check, as
`mkc plan` does in-process), and compare the plan's multiset of calls with the
tasks a person would expect (the set's `expect`). Reported: the share planned
correctly, and the time per description, the median of `--repeat` runs with the
library and the embedding model loaded (the first description's cold time, model
load included, is reported apart). The baseline, measured in the same run, is the
same planner with the lexical (TF-IDF) scorer in place of MiniLM: what the
embeddings buy. The last lines are what scripts compare:
`minilm: correct 20/20 (100%), median 0.05 s, max 0.09 s per description (target < 2 s)`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import murakkab.passes.bind_executors as bind  # noqa: E402

from murakkab.commands.plan import parse_input  # noqa: E402
from murakkab.planner.descriptions import calls, load_cases, matches  # noqa: E402
from murakkab.planner.library import load_library  # noqa: E402
from murakkab.planner.planning import Job, plan_default  # noqa: E402
from murakkab.planner.search import PlanningError  # noqa: E402

TARGET_S = 2.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timings per description")
    args = parser.parse_args()
    cases = load_cases(ROOT / "examples" / "descriptions.toml")
    real = bind.make_scorer
    lines = []
    for scorer in ("minilm", "lexical"):
        bind.make_scorer = lambda embeddings="auto", s=scorer: real(s)  # type: ignore[misc]
        lines.append(_measure(scorer, cases, args.repeat))
    bind.make_scorer = real
    print()
    for line in lines:
        print(line)
    return 0


def _measure(scorer: str, cases: list[dict[str, Any]], repeat: int) -> str:
    print(f"== {scorer}")
    times: list[float] = []
    correct = 0
    with tempfile.TemporaryDirectory() as work:
        where = Path(work) / "job.mk"
        start = time.perf_counter()
        _plan(cases[0], where)
        cold = time.perf_counter() - start
        for case in cases:
            runs = []
            for _ in range(repeat):
                start = time.perf_counter()
                found = _plan(case, where)
                runs.append(time.perf_counter() - start)
            median = statistics.median(runs)
            times.append(median)
            ok = found is not None and matches(found, case["expect"])
            correct += ok
            shown = "no plan" if found is None else " ".join(found)
            verdict = "ok " if ok else "BAD"
            print(f"  {verdict} {median:5.2f} s  {case['description'][:58]:58}  {shown}")
    share = correct / len(cases)
    print(f"  first description cold (model load included): {cold:.2f} s")
    return (
        f"{scorer}: correct {correct}/{len(cases)} ({share:.0%}), median"
        f" {statistics.median(times):.2f} s, max {max(times):.2f} s per description"
        f" (target < {TARGET_S:g} s)"
    )


def _plan(case: dict[str, Any], where: Path) -> list[str] | None:
    """The calls of the planned file (a fresh library load each time, as `mkc plan`)."""
    library = load_library(tuple(ROOT / p for p in case.get("library", ["examples"])))
    inputs = tuple(parse_input(flag) for flag in case.get("inputs", []))
    try:
        planned = plan_default(Job(case["description"], inputs, where), library)
    except PlanningError:
        return None
    return calls(planned.written.text)


if __name__ == "__main__":
    raise SystemExit(main())

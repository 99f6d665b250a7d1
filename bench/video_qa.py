"""Video Q/A on the generated question set: a hand-configured pipeline against `mkc run`.

    python bench/video_qa.py            # all 12 questions (about 15 minutes on 2 cores)
    python bench/video_qa.py --questions 4

(a) hand-configured: the pipeline as a framework user writes it, with the
    largest local models and every stage on (Qwen2.5-Coder-0.5B, Whisper base,
    10 frames per scene, the detector), stages in sequence, and each model loaded
    for the call that uses it (profiling/videoqa.py's Runner with reuse=False:
    the same executors and arguments a plan calls).
(b) `mkc run examples/video_qa.mk --slo "quality >= Q"` once per question, as a
    user runs it (a process each: start-up, compile and model loads included),
    where Q is (a)'s measured accuracy minus 2 points. The optimizer picks the
    configuration from the profiles (the shipped ones measured by `mkc profile`
    on a 2-core machine, or the user's store).

Both run on this machine one after the other, on the same media. Reported side
by side: wall time, CPU time (this process for (a), the child processes for
(b)), energy modelled from them (6 W per busy core-second, 3 W per idle held
core-second: profiling/measure.py; this machine exposes no energy counter to
an unprivileged process), accuracy; then the ratios and the per-stage times.
The last line is what scripts compare:
`video_qa: speedup 4.1x, energy 5.0x, accuracy 92% (mkc) vs 93% (hand-configured)`.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from murakkab.profiling.measure import modelled_energy_j
from murakkab.profiling.questions import Question, is_correct, load_questions
from murakkab.profiling.videoqa import STAGES, Runner, VideoQaConfig
from murakkab.testmedia import ensure_test_media

ROOT = Path(__file__).resolve().parent.parent
JOB = ROOT / "examples" / "video_qa.mk"
HAND = VideoQaConfig("qwen2.5-coder-0.5b-instruct", 10, "whisper-base", True)
STAGE_OF = {
    "video.scene_detect": "scenes",
    "video.frame_extract": "frames",
    "speech.transcribe": "transcript",
    "vision.detect_objects": "objects",
    "llm.answer": "answer",
}


def cpu_seconds(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def hand_configured(questions: list[Question], cores: int) -> dict[str, object]:
    runner = Runner(threads=cores, reuse=False)
    stages = dict.fromkeys(STAGES, 0.0)
    marks = []
    cpu0, start = cpu_seconds(resource.RUSAGE_SELF), time.perf_counter()
    for question in questions:
        answered = runner.answer(HAND, question)
        marks.append(is_correct(answered.text, question.answers))
        for stage, seconds in answered.seconds.items():
            stages[stage] += seconds
        print(f"  (a) {'ok ' if marks[-1] else 'bad'} {question.text} -> {answered.text[:70]!r}")
    wall = time.perf_counter() - start
    cpu = cpu_seconds(resource.RUSAGE_SELF) - cpu0
    return _row(wall, cpu, cores, marks, stages, HAND.label)


def with_mkc(questions: list[Question], cores: int, quality: float) -> dict[str, object]:
    stages = dict.fromkeys(STAGES, 0.0)
    marks = []
    picked = ""
    cpu0, start = cpu_seconds(resource.RUSAGE_CHILDREN), time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mkc-bench-") as runs:
        for number, question in enumerate(questions):
            command = [
                sys.executable,
                "-m",
                "murakkab.cli",
                "run",
                str(JOB),
                "--slo",
                f"quality >= {quality:.4f}",
                "--input",
                f"videos={question.video}",
                "--input",
                f"query={question.text}",
                "--run-dir",
                str(Path(runs) / f"q{number}"),
                "--json",
            ]
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
            if done.returncode != 0:
                raise SystemExit(f"mkc run failed ({done.returncode}):\n{done.stderr[-2000:]}")
            report = json.loads(done.stdout)
            answer = str(report["result"])
            marks.append(is_correct(answer, question.answers))
            for op in report["ops"]:
                stage = STAGE_OF.get(op.get("op", ""))
                if stage is not None and op.get("measured"):
                    stages[stage] += float(op["measured"]["latency_s"] or 0.0)
            picked = picked or _configuration(Path(runs) / f"q{number}" / "plan.json")
            print(f"  (b) {'ok ' if marks[-1] else 'bad'} {question.text} -> {answer[:70]!r}")
    wall = time.perf_counter() - start
    cpu = cpu_seconds(resource.RUSAGE_CHILDREN) - cpu0
    return _row(wall, cpu, cores, marks, stages, picked)


def _configuration(plan_file: Path) -> str:
    plan = json.loads(plan_file.read_text())
    chosen = []
    for step in plan["steps"]:
        impl = (step.get("impl") or {}).get("name", "")
        knobs = ",".join(
            f"{k}={v}" for k, v in sorted(step.get("knobs", {}).items()) if k != "load"
        )
        chosen.append(f"{step['op']}[{impl} {knobs}]")
    return "; ".join(chosen)


def _row(
    wall: float,
    cpu: float,
    cores: int,
    marks: list[bool],
    stages: dict[str, float],
    config: str,
) -> dict[str, object]:
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "energy_j": modelled_energy_j(wall, cpu, cores),
        "accuracy": sum(marks) / len(marks),
        "stages": stages,
        "config": config,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=0, help="only the first N questions")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    media = ensure_test_media()
    questions = load_questions(media)
    if args.questions:
        questions = questions[: args.questions]
    print(f"video_qa bench: {len(questions)} questions on {media}, {cores} cores")
    print("(a) hand-configured:", HAND.label)
    hand = hand_configured(questions, cores)
    target = max(0.0, float(hand["accuracy"]) - 0.02)  # type: ignore[arg-type]
    print(f"(b) mkc run --slo 'quality >= {target:.4f}'")
    mkc = with_mkc(questions, cores, target)
    print()
    print(f"{'':18}{'wall s':>10}{'CPU s':>10}{'energy J':>11}{'accuracy':>10}")
    for name, row in (("hand-configured", hand), ("mkc", mkc)):
        print(
            f"{name:18}{row['wall_s']:>10.1f}{row['cpu_s']:>10.1f}{row['energy_j']:>11.0f}"
            f"{row['accuracy']:>10.0%}"
        )
    speedup = float(hand["wall_s"]) / float(mkc["wall_s"])  # type: ignore[arg-type]
    cpu_ratio = float(hand["cpu_s"]) / float(mkc["cpu_s"])  # type: ignore[arg-type]
    energy = float(hand["energy_j"]) / float(mkc["energy_j"])  # type: ignore[arg-type]
    print(f"{'ratio (a)/(b)':18}{speedup:>9.1f}x{cpu_ratio:>9.1f}x{energy:>10.1f}x")
    print("\nper-stage seconds, summed over the questions (b: as its traces measured them)")
    print(f"{'':18}" + "".join(f"{stage:>12}" for stage in STAGES))
    for name, row in (("hand-configured", hand), ("mkc", mkc)):
        stages = row["stages"]
        print(f"{name:18}" + "".join(f"{stages[s]:>12.1f}" for s in STAGES))  # type: ignore[index]
    print(f"\nmkc chose: {mkc['config']}\n")
    print(
        f"video_qa: speedup {speedup:.1f}x, energy {energy:.1f}x, accuracy"
        f" {float(mkc['accuracy']):.0%} (mkc) vs {float(hand['accuracy']):.0%} (hand-configured)"  # type: ignore[arg-type]
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

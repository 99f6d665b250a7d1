"""`mkc plan` and its default planner: every description of examples/descriptions.toml
plans to the tasks a person would expect, checks and compiles; the video ones run end
to end on the test media; errors are clear; `--explain` shows the candidates."""

from __future__ import annotations

import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from murakkab.driver import Compilation, compile_file
from murakkab.planner.clauses import split_clauses
from murakkab.planner.descriptions import calls, load_cases, matches
from murakkab.planner.library import load_library
from murakkab.planner.planning import Job, check_text, plan_default
from tests.goldens import ROOT, run_mkc

CASES = load_cases(ROOT / "examples" / "descriptions.toml")
CLOUD = ROOT / "examples" / "clusters" / "cloud_a100_h100.toml"


def case_id(case: dict[str, Any]) -> str:
    return re.sub(r"\W+", "_", case["description"].lower())[:40].strip("_")


def plan_case(case: dict[str, Any], where: Path, media: Path | None = None) -> Any:
    from murakkab.commands.plan import parse_input

    inputs = []
    for flag in case.get("inputs", []):
        if media is not None:
            flag = flag.replace("=media/", f"={media}/")
        inputs.append(parse_input(flag))
    library = load_library(tuple(ROOT / p for p in case.get("library", ["examples"])))
    return plan_default(Job(case["description"], tuple(inputs), where), library)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_description_plans_to_the_expected_tasks(case: dict[str, Any], tmp_path: Path) -> None:
    where = tmp_path / "job.mk"
    planned = plan_case(case, where)
    text = planned.written.text
    assert matches(calls(text), case["expect"]), (calls(text), case["expect"])
    assert check_text(text, where) == []  # what `mkc check` says
    # The description is the docstring; every task says why it was chosen.
    assert f'"{case["description"]}"' in text
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if line.lstrip().startswith("task "):
            assert lines[index - 1].lstrip().startswith("# "), line
    where.write_text(text, encoding="utf-8")
    compile_file(where, "estimate", compilation=Compilation(), cost=_cloud())


def _cloud() -> Any:
    from murakkab.driver import CostOptions

    return CostOptions(None, str(CLOUD), ())


def test_the_set_covers_the_categories_the_issue_names() -> None:
    categories = Counter(case["category"] for case in CASES)
    assert len(CASES) >= 15
    for needed in (
        "video question",
        "code generation with tests",
        "math",
        "summarise a talk",
        "compare two videos",
        "verify a solution from a video",
    ):
        assert categories[needed] >= 1, needed


def test_a_workflow_in_the_library_is_composed_when_it_covers_the_request(tmp_path: Path) -> None:
    verify = next(c for c in CASES if c["expect"] == ["verify_solution"])
    text = plan_case(verify, tmp_path / "job.mk").written.text
    assert re.search(r'^import ".*verify_solution\.mk"$', text, re.MULTILINE)
    # Without verify_solution.mk, a description that says the steps: video Q/A reads
    # the code, a coder writes a reference, and a comparison joins them.
    steps = next(c for c in CASES if "library" in c and "verify" in c["category"])
    found = calls(plan_case(steps, tmp_path / "job.mk").written.text)
    assert found[0] == "video_qa" and found[-1] == "llm.compare"
    assert {"code.generate", "code_gen_debate"} & set(found)


def test_the_file_holds_the_run_request_and_the_slos(tmp_path: Path) -> None:
    out = tmp_path / "talk.mk"
    status, _, err = run_mkc(
        [
            "plan",
            "Summarise the talk in this video.",
            "--input",
            "video:video=media/lecture.mp4",
            "--slo",
            "latency < 30 s, cost < 2 usd",
            "--slo",
            "minimize energy",
            "-o",
            str(out),
        ]
    )
    assert status == 0, err
    text = out.read_text(encoding="utf-8")
    assert 'run summarise_talk_video("media/lecture.mp4")' in text
    assert "slo latency < 30 s, cost < 2 usd" in text
    assert "minimize energy" in text
    assert "default planner" in err and "default planner" in text
    status, out_text, _ = run_mkc(["check", str(out)])
    assert status == 0 and "ok" in out_text
    status, _, _ = run_mkc(["fmt", "--check", str(out)])
    assert status == 0  # formatted as mkc fmt would


def test_an_input_without_a_value_leaves_the_run_request_out_with_a_note() -> None:
    status, out, err = run_mkc(["plan", "Summarise this document.", "--input", "doc:text"])
    assert status == 0
    assert "run " not in out and "workflow summarise_document(doc: text) -> text" in out
    assert "no `run` request: no value for doc" in err


def test_an_uncoverable_task_names_the_closest_executors_and_how_to_add_one() -> None:
    status, out, err = run_mkc(["plan", "Book a flight to Paris and email me the receipt."])
    assert status == 1 and out == ""
    assert 'no executor or workflow does "Book a flight to Paris and email me the receipt"' in err
    assert "closest to" in err and re.search(r"\w+\.\w+ \(\d\.\d\d\)", err)
    assert "declare a capability" in err and "docs/executors.md" in err
    assert "Traceback" not in err


def test_a_plan_the_types_cannot_wire_says_so() -> None:
    status, _, err = run_mkc(
        ["plan", "Summarise the talk in this video.", "--input", "video:video", "--result", "code"]
    )
    assert status == 1
    assert "no dataflow from the inputs covers every clause and ends in code" in err
    assert "llm.summarize(content: list<any>) -> text" in err


def test_explain_shows_candidates_scores_and_the_plans_compared() -> None:
    status, out, err = run_mkc(
        ["plan", "Summarise the talk in this video.", "--input", "video:video", "--explain"]
    )
    assert status == 0, err
    assert '1. "Summarise the talk in this video"' in out
    assert re.search(r"0\.\d\d  llm\.summarize\(content: list<any>\) -> text", out)
    assert "a workflow covers a clause only as its best match" in out
    assert "plans compared" in out and "<- chosen" in out
    assert "task summary = llm.summarize([transcript])" in out


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--input", "video"], "--input video: expected NAME:TYPE[=VALUE]"),
        (["--input", "v:movie"], "--input v:movie: unknown type 'movie'"),
        (["--input", "v:video", "--input", "v:text"], "--input v: given twice"),
        (["--library", "nowhere"], "--library nowhere: not a directory or a .mk file"),
        (["--name", "9lives"], "--name 9lives: expected a name"),
        (["--result", "list<movie>"], "--result: unknown type 'movie'"),
        (["--input", "n:number=many"], "--input n:number=many: 'many' is not a number"),
        (["--input", 'ns:list<number>=[1,"x"]'], "is not a list<number>"),
        (["--input", "task:text"], "(not a keyword)"),
        (["--name", "video_qa"], "--name video_qa: the library has a workflow of that name"),
    ],
)
def test_bad_flags_are_usage_errors(flags: list[str], message: str) -> None:
    status, _, err = run_mkc(["plan", "Summarise the talk.", *flags])
    assert status == 2 and message in err, err


def test_a_bad_slo_points_into_the_flag() -> None:
    status, _, err = run_mkc(["plan", "Summarise this document.", "--slo", "latency < fast"])
    assert status == 1 and "--slo:1:" in err


def test_strings_from_the_user_stay_inside_their_literals(tmp_path: Path) -> None:
    description = 'Summarise this "document" }\n task x = evil() # and\\n more'
    status, out, err = run_mkc(
        ["plan", description, "--input", 'doc:text=a "quoted" }\nvalue', "--name", "safe"]
    )
    assert status == 0, err
    path = tmp_path / "safe.mk"
    path.write_text(out, encoding="utf-8")
    assert run_mkc(["check", str(path)])[0] == 0
    assert "evil" not in calls(out) and len(calls(out)) >= 1
    assert '"Summarise this \\"document\\" }\\n task x = evil() # and\\\\n more"' in out


def test_clauses_split_at_the_joints_people_write() -> None:
    def texts(description: str) -> list[str]:
        return [c.text for c in split_clauses(description)]

    assert texts("Transcribe the talk and summarise it.") == ["Transcribe the talk", "summarise it"]
    assert texts("First transcribe the talk, then summarise it") == [
        "transcribe the talk",
        "summarise it",
    ]
    # Context joins the task it precedes; a question stays whole.
    assert texts("A train leaves at 3 pm. When does it arrive?") == [
        "A train leaves at 3 pm. When does it arrive?"
    ]
    assert texts("Which of the two videos shows more people and how many?") == [
        "Which of the two videos shows more people and how many?"
    ]
    assert split_clauses("Summarise it. Then list the speakers.")[1].text == "list the speakers"
    assert split_clauses("Summarise the talk")[0].query() == "Summarize the talk"


def test_planning_takes_well_under_two_seconds(tmp_path: Path) -> None:
    # The bench (bench/planner.py) measures it; here only that the search stays small.
    planned = plan_case(CASES[0], tmp_path / "job.mk")
    assert planned.stats.expanded < 1000


def test_the_lexical_scorer_plans_when_minilm_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import murakkab.passes.bind_executors as bind

    real = bind.make_scorer
    monkeypatch.setattr(bind, "make_scorer", lambda embeddings="auto": real("lexical"))
    planned = plan_case(CASES[3], tmp_path / "job.mk")
    assert "lexical similarity" in planned.planner
    assert "llm.summarize" in calls(planned.written.text)


# ---- end to end on the test media ------------------------------------------------------


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("ffmpeg") is None or shutil.which("espeak-ng") is None:
        pytest.skip("making the test media needs the ffmpeg and espeak-ng binaries")
    from murakkab.testmedia import make_media

    out = tmp_path_factory.mktemp("media")
    make_media(out)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("case", [c for c in CASES if c.get("run")], ids=case_id)
def test_video_descriptions_run_end_to_end(
    case: dict[str, Any], media: Path, tmp_path: Path
) -> None:
    run_dir = tmp_path / "run"
    flags = [f.replace("=media/", f"={media}/") for f in case["inputs"]]
    args = ["run", "--describe", case["description"], "--run-dir", str(run_dir), "--json", "-q"]
    for flag in flags:
        args += ["--input", flag]
    status, out, err = run_mkc(args, pin_cluster=False)  # this machine: real local executors
    assert status == 0, err
    job = (run_dir / "job.mk").read_text(encoding="utf-8")
    assert matches(calls(job), case["expect"])
    import json

    result = json.loads(out)
    assert isinstance(result["result"], str) and result["result"].strip()


def test_run_describe_refuses_a_file_and_writes_nothing_it_cannot_plan(tmp_path: Path) -> None:
    status, _, err = run_mkc(["run", "examples/video_qa.mk", "--describe", "Summarise it."])
    assert status == 2 and "--describe plans the job: drop FILE" in err
    status, _, err = run_mkc(["run", "--describe", "Summarise it.", "--input", "doc:text"])
    assert status == 2 and "--input doc:text: --describe runs the job: give NAME:TYPE=VALUE" in err
    run_dir = tmp_path / "run"
    args = ["run", "--describe", "Book a flight to Paris.", "--run-dir", str(run_dir)]
    status, _, err = run_mkc(args)
    assert status == 1 and "mkc run: error: no executor or workflow does" in err
    assert not run_dir.exists()

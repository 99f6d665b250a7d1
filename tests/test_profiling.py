"""`mkc profile`'s pieces: answer marking, the measurement plan, fitting, measuring,
video Q/A configurations and how a configuration maps onto a workflow's ops."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from murakkab.hardware import DEVICE_KINDS
from murakkab.ir.core import Literal, Op
from murakkab.optimize.shapes import assignments
from murakkab.profiling.measure import Sample, measure, modelled_energy_j
from murakkab.profiling.profiler import LLM_MODELS, STT_MODELS, Plan, _fit
from murakkab.profiling.questions import accuracy, is_correct, load_questions
from murakkab.profiling.videoqa import VideoQaConfig
from tests.goldens import EXAMPLES
from tests.helpers import lower_text

# ---- questions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "keywords"),
    [
        ("The probe is called Orbita 7.", ("ORBITA-7",)),
        ("It is in room B12.", ("B12",)),
        ("okafor is the commander", ("Okafor",)),
        ("The beans came from ETHIOPIA!", ("Kenya", "Ethiopia")),
        ("She trained for nine years.", ("nine",)),
    ],
)
def test_is_correct_matches_keywords_as_whole_words_ignoring_case_and_punctuation(
    answer: str, keywords: tuple[str, ...]
) -> None:
    assert is_correct(answer, keywords)


@pytest.mark.parametrize(
    ("answer", "keywords"),
    [
        ("She trained for ninety years.", ("nine",)),
        ("It is in room B123.", ("B12",)),
        ("The probe is Orbita 8.", ("Orbita 7",)),
        ("", ("saffron",)),
        ("anything at all", ()),
    ],
)
def test_is_correct_rejects_partial_words_and_missing_keywords(
    answer: str, keywords: tuple[str, ...]
) -> None:
    assert not is_correct(answer, keywords)


def test_accuracy_is_the_share_of_right_marks_and_zero_without_marks() -> None:
    assert accuracy([True, False, True, True]) == 0.75
    assert accuracy([False]) == 0.0
    assert accuracy([]) == 0.0


def _write_questions(folder: Path, per_kind: int) -> None:
    raw = [
        {
            "question": f"{kind} question {i}?",
            "answers": [f"{kind}{i}", "alt"],
            "evidence": kind,
            "video": "lecture.mp4" if kind != "screen" else "slides.mp4",
        }
        for kind in ("speech", "screen", "both")
        for i in range(per_kind)
    ]
    (folder / "questions.json").write_text(json.dumps(raw))


def test_load_questions_reads_the_media_folder(tmp_path: Path) -> None:
    _write_questions(tmp_path, per_kind=1)
    questions = load_questions(tmp_path)
    assert [q.text for q in questions] == [
        "speech question 0?",
        "screen question 0?",
        "both question 0?",
    ]
    assert questions[0].answers == ("speech0", "alt")
    assert [q.evidence for q in questions] == ["speech", "screen", "both"]
    assert questions[1].video == tmp_path / "slides.mp4"


# ---- the plan ---------------------------------------------------------------------------


def test_quick_plan_has_24_configurations_and_full_has_36() -> None:
    quick = Plan(("video_qa",), quick=True).configs()
    full = Plan(("video_qa",), quick=False).configs()
    assert len(quick) == len(LLM_MODELS) * 2 * (1 + len(STT_MODELS)) * 2 == 24
    assert len(full) == 36
    assert len(set(full)) == 36
    assert {c.frames for c in quick} == {1, 5}
    assert {c.frames for c in full} == {1, 5, 10}
    assert {c.stt for c in full} == {None, *STT_MODELS}
    assert {c.detector for c in full} == {True, False}


def test_quick_plan_picks_two_questions_per_evidence_kind(tmp_path: Path) -> None:
    _write_questions(tmp_path, per_kind=4)
    quick = Plan(("video_qa",), quick=True).questions(tmp_path)
    assert [q.evidence for q in quick] == ["speech"] * 2 + ["screen"] * 2 + ["both"] * 2
    assert [q.text for q in quick][:2] == ["speech question 0?", "speech question 1?"]
    assert len(Plan(("video_qa",), quick=False).questions(tmp_path)) == 12


def test_plan_steps_counts_one_per_measurement(tmp_path: Path) -> None:
    assert Plan(("video.scene_detect",), quick=True).steps(tmp_path) == 1
    assert Plan(("speech.transcribe", "llm.answer"), quick=True).steps(tmp_path) == 4
    assert Plan(("video_qa",), quick=True).steps(tmp_path) == 24
    everything = Plan(
        (
            "video.scene_detect",
            "video.frame_extract",
            "speech.transcribe",
            "vision.detect_objects",
            "vision.read_text",
            "llm.answer",
            "video_qa",
        ),
        quick=False,
    )
    assert everything.steps(tmp_path) == 1 + 1 + 2 + 1 + 1 + 2 + 36


def _sample(wall_s: float) -> Sample:
    return Sample(wall_s, cpu_s=wall_s, memory_gb=0.0, energy_j=1.0, energy_source="modelled")


def test_fit_through_two_sizes_gives_fixed_cost_and_cost_per_unit() -> None:
    fixed, per_unit = _fit([(1.0, _sample(1.5)), (5.0, _sample(3.5))])
    assert per_unit == pytest.approx(0.5)
    assert fixed == pytest.approx(1.0)


def test_fit_never_goes_negative() -> None:
    fixed, per_unit = _fit([(1.0, _sample(2.0)), (5.0, _sample(1.0))])
    assert (fixed, per_unit) == (2.0, 0.0)
    fixed, per_unit = _fit([(1.0, _sample(0.1)), (5.0, _sample(4.1))])
    assert fixed == 0.0 and per_unit == pytest.approx(1.0)


def test_fit_with_one_size_has_no_fixed_part() -> None:
    assert _fit([(4.0, _sample(2.0))]) == (0.0, 0.5)
    assert _fit([(4.0, _sample(1.0)), (4.0, _sample(2.0))]) == (0.0, 0.5)


# ---- measuring --------------------------------------------------------------------------


def test_measure_returns_the_work_result_and_its_wall_time() -> None:
    def work() -> str:
        time.sleep(0.05)
        return "done"

    result, sample = measure(work, cores=1)
    assert result == "done"
    assert sample.wall_s >= 0.05
    assert 0.0 <= sample.cpu_s < 0.05
    assert sample.memory_gb >= 0.0
    assert sample.energy_j >= 0.0
    assert sample.energy_source in ("rapl", "modelled")


def test_modelled_energy_charges_busy_watts_for_cpu_time_and_idle_watts_for_the_rest() -> None:
    core = DEVICE_KINDS["cpu-core"]
    assert (core.busy_watts, core.idle_watts) == (6.0, 3.0)
    # 0.5 busy core-seconds; 2 cores x 2 s held = 4 core-seconds, 3.5 of them idle
    assert modelled_energy_j(wall_s=2.0, cpu_s=0.5, cores=2) == pytest.approx(6 * 0.5 + 3 * 3.5)
    assert modelled_energy_j(wall_s=1.0, cpu_s=0.0, cores=1) == pytest.approx(3.0)
    assert modelled_energy_j(wall_s=1.0, cpu_s=3.0, cores=2) == pytest.approx(18.0)


# ---- video Q/A configurations ----------------------------------------------------------


def test_profile_config_without_stt_has_no_stt_model() -> None:
    config = VideoQaConfig("smollm2-135m-instruct", 5, None, detector=True)
    assert config.profile_config() == {
        "model": "smollm2-135m-instruct",
        "frames": 5,
        "stt": False,
        "detector": True,
    }
    assert config.label == "smollm2-135m-instruct F=5 no-stt detector=on"


def test_profile_config_with_stt_names_the_stt_model() -> None:
    config = VideoQaConfig("qwen2.5-coder-0.5b-instruct", 1, "whisper-base", detector=False)
    assert config.profile_config() == {
        "model": "qwen2.5-coder-0.5b-instruct",
        "frames": 1,
        "stt": True,
        "detector": False,
        "stt_model": "whisper-base",
    }
    assert config.label == "qwen2.5-coder-0.5b-instruct F=1 whisper-base detector=off"


# ---- profile configurations onto ops ----------------------------------------------------


def _video_qa_ops() -> list[Op]:
    module = lower_text((EXAMPLES / "video_qa.mk").read_text(), "examples/video_qa.mk")
    return list(module.workflows[0].walk())


def _result_of(ops: list[Op], capability: str) -> str:
    return next(op.result.name for op in ops if op.name == capability)


def test_assignments_drop_the_detector_and_stt_when_the_configuration_turns_them_off() -> None:
    ops = _video_qa_ops()
    config: tuple[tuple[str, Literal], ...] = (
        ("model", "smollm2-135m-instruct"),
        ("frames", 1),
        ("stt", False),
        ("detector", False),
    )
    values, dropped = assignments("video_qa", config, ops)
    assert dropped == {
        _result_of(ops, "vision.detect_objects"),
        _result_of(ops, "speech.transcribe"),
    }
    assert values[_result_of(ops, "llm.answer")] == {"model": "smollm2-135m-instruct"}
    assert values[_result_of(ops, "video.frame_extract")] == {"frames": 1}


def test_assignments_bind_stt_model_to_the_transcriber_model_knob() -> None:
    ops = _video_qa_ops()
    config: tuple[tuple[str, Literal], ...] = (
        ("model", "qwen2.5-coder-0.5b-instruct"),
        ("frames", 5),
        ("stt", True),
        ("detector", True),
        ("stt_model", "whisper-tiny.en"),
    )
    values, dropped = assignments("video_qa", config, ops)
    assert dropped == set()
    assert values[_result_of(ops, "speech.transcribe")] == {"model": "whisper-tiny.en"}
    assert values[_result_of(ops, "llm.answer")] == {"model": "qwen2.5-coder-0.5b-instruct"}
    assert _result_of(ops, "vision.detect_objects") not in values

"""`mkc run`'s model assets: which a plan needs, and assembling them before it runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from murakkab.stdlib import llm_llamacpp, speech_whisper

from murakkab import assets
from murakkab.plan import Impl, Plan, Step
from murakkab.report import assets as run_assets

LLAMA = Impl("llama.cpp", "murakkab.stdlib.llm_llamacpp:run")
WHISPER = Impl("faster-whisper", "murakkab.stdlib.speech_whisper:transcribe")
FAKE_ASSET = assets.Asset(name="x", package="no_such_pkg_zz", files=("a",), sha256="0" * 64)


def _plan(*steps: Step) -> Plan:
    return Plan(workflow="w", params=(), steps=steps, result=None)


def _llm_step(name: str, model: str = "smollm2-135m-instruct") -> Step:
    return Step(name, "llm.answer", (), {"model": model}, impl=LLAMA)


def test_needed_collects_the_assets_of_each_implementation_in_step_order() -> None:
    plan = _plan(
        Step("transcript", "speech.transcribe", (), {"model": "whisper-tiny.en"}, impl=WHISPER),
        _llm_step("answer"),
    )
    assert run_assets.needed(plan) == [
        speech_whisper.MODELS["whisper-tiny.en"],
        llm_llamacpp.SMOLLM2,
    ]


def test_needed_names_each_asset_once() -> None:
    plan = _plan(
        _llm_step("first"),
        _llm_step("second"),
        _llm_step("third", "qwen2.5-coder-0.5b-instruct"),
    )
    assert run_assets.needed(plan) == [llm_llamacpp.SMOLLM2, llm_llamacpp.QWEN_CODER]


def test_needed_looks_inside_flow_bodies() -> None:
    flow = Step("debate", "flow.parallel", (), count=2, body=(_llm_step("debate.answer"),))
    assert run_assets.needed(_plan(flow)) == [llm_llamacpp.SMOLLM2]


def test_needed_skips_steps_without_assets() -> None:
    plan = _plan(
        Step("plain", "text.split", (), {}, impl=None),
        Step("missing", "x.y", (), {}, impl=Impl("gone", "no_such_module_zz:run")),
        Step(
            "scenes",
            "video.scene_detect",
            (),
            {},
            impl=Impl("opencv.hist", "murakkab.stdlib.video_opencv:scene_detect"),
        ),
        _llm_step("hosted", "gpt-4o"),
    )
    assert run_assets.needed(plan) == []


def test_prepare_reports_a_missing_package_with_its_pip_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MKC_ASSETS_DIR", str(tmp_path))
    monkeypatch.setattr(run_assets, "needed", lambda plan: [FAKE_ASSET])
    run_assets.prepare(_plan(), quiet=True)
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "first use of model x" in captured.err
    assert "pip install no-such-pkg-zz" in captured.err
    assert not (tmp_path / FAKE_ASSET.directory_name).exists()


def test_prepare_says_nothing_when_the_asset_is_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("MKC_ASSETS_DIR", str(tmp_path))
    monkeypatch.setattr(run_assets, "needed", lambda plan: [FAKE_ASSET])
    monkeypatch.setattr(assets, "is_built", lambda asset: True)
    run_assets.prepare(_plan(), quiet=True)
    assert capsys.readouterr() == ("", "")

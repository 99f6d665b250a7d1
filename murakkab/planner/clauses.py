"""Decompose a description into clauses, the sub-tasks the planner must cover.

A description is split into sentences, then each sentence at the joints people use
between steps: `;`, `then`, `in parallel with`, `while`, and `and` or a comma when
an imperative verb follows ("transcribe the talk and summarise it"). A clause
that asks a question is compared with executors as "Answer a question: ..." so
that it meets executors that answer questions, whatever the question is about.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

# Imperative verbs that start a new step after "and" or a comma.
VERBS = (
    "answer analyse analyze check compare count critique debate describe detect explain "
    "extract fetch find generate grade identify improve list rank read reflect "
    "revise run solve split summarise summarize test transcribe verify write"
).split()
QUESTION_WORDS = frozenset(
    "what who whom whose which when where why how is are does do did can could was were".split()
)
# summarise -> summarize, analysing -> analyzing: the embeddings tell them apart.
_US_SPELLING = re.compile(
    r"\b(summari|analy|recogni|organi|visuali|categori)s(e|es|ed|ing)\b", re.IGNORECASE
)
_VERB = r"(?:" + "|".join(VERBS) + r")\b"
_LEAD = re.compile(
    r"\s*(?:and\s+)?(?:then|also|finally|next|first|lastly|afterwards)\b,?\s*", re.IGNORECASE
)
_SENTENCES = re.compile(r"\S.*?(?:[.?!](?=\s+[A-Z\"'])|$)")
_JOINTS = re.compile(
    r"\s*;\s*"
    r"|,?\s+(?:and\s+)?then\s+"
    r"|,?\s+in parallel with\s+"
    r"|,?\s+while\s+"
    rf"|,?\s+and\s+(?={_VERB})"
    rf"|,\s+(?={_VERB})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Clause:
    text: str  # as written, without the joint
    question: bool

    def query(self, about: str = "") -> str:
        """The text compared with executor and workflow descriptions, in US spelling
        as the stdlib's are. A question says what it is about ("a video"), as the
        inputs' types do: the question's words alone rarely name the medium."""
        text = _US_SPELLING.sub(lambda m: m.group(1) + "z" + m.group(2), self.text)
        if not self.question:
            return text
        return f"Answer a question about {about}: {text}" if about else f"Answer a question: {text}"


def about(media: list[str]) -> str:
    """What questions over inputs of these media types are about: "a video", "two videos"."""
    if not media:
        return ""
    kind = media[0] if all(m == media[0] for m in media) else "media"
    if len(media) == 1:
        return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"
    count = {2: "two", 3: "three"}.get(len(media), "several")
    return f"{count} {kind}s" if kind != "media" else f"{count} media files"


def split_clauses(description: str) -> tuple[Clause, ...]:
    """The task clauses of a description. A part that neither asks nor instructs
    ("a train leaves at 3 pm") is context: it joins the next task clause (or the
    last one), as the text between them was written."""
    text = " ".join(description.split())
    parts: list[tuple[int, int]] = []
    for sentence in _SENTENCES.finditer(text):
        start = sentence.start()
        for joint in itertools.chain(_JOINTS.finditer(sentence.group()), [None]):
            end = sentence.end() if joint is None else sentence.start() + joint.start()
            lead = _LEAD.match(text, start, end)
            start = lead.end() if lead else start
            if text[start:end].strip(" ,."):
                parts.append((start, end))
            if joint is not None:
                start = sentence.start() + joint.end()
    tasks: list[tuple[int, int]] = []
    pending: int | None = None
    for start, end in parts:
        if _is_task(text[start:end]):
            tasks.append((start if pending is None else pending, end))
            pending = None
        elif pending is None:
            pending = start
    if pending is not None:
        if tasks:
            tasks[-1] = (tasks[-1][0], len(text))
        else:
            tasks.append((pending, len(text)))
    clauses = [text[a:b].strip(" ,.") for a, b in tasks]
    return tuple(Clause(c, _is_question(c)) for c in clauses if c)


def _is_task(text: str) -> bool:
    words = text.strip(" ,.").split()
    first = words[0].lower() if words else ""
    return _is_question(text.strip(" ,.")) or first in VERBS or first == "please"


def _is_question(text: str) -> bool:
    first = text.split()[0].lower() if text.split() else ""
    return text.endswith("?") or first in QUESTION_WORDS

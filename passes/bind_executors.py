"""bind-executors: bind natural-language tasks (`nl.task`) to capabilities of the catalogue.

A task whose description (stripped) is a capability's qualified or short name is
bound to it. Otherwise every capability is scored by the similarity of the
description to the capability's doc string:

- `minilm`: cosine of all-MiniLM-L6-v2 sentence embeddings (`murakkab.stdlib.text_tools`);
  the catalogue's embeddings are computed once per process.
- `lexical` (used when MiniLM is not installed, or asked for): TF-IDF cosine over
  word stems, the catalogue's doc strings being the corpus. A text's terms are its
  lowercased words `[a-z0-9]+`, stop words dropped, stemmed by `_stem`; a term's
  weight is `tf * idf` with `tf` its count in the text and
  `idf = ln((1 + N) / (1 + df)) + 1` (N doc strings, `df` of them holding the term;
  a term no doc string holds gets `ln(1 + N) + 1`); the score is the cosine of the
  two weight vectors.

A candidate is compatible when the task's operands fit its parameters (same
arity; `is_assignable`, a string constant standing for media as `literal_fits`
says), its result fits the task's declared type, every constraint of the task is
one of its knobs with values in the knob's domain, and a device the task is pinned
to is one it runs on. The best compatible candidate wins if it scores at least
`min-score` and beats the next compatible one by `margin` (a margin of 0 breaks
ties by capability name); otherwise MK0502 (no executor) or MK0503 (ambiguous),
listing the top candidates. Scores are rounded to 4 decimals before comparing so
that decisions do not hinge on float noise. Each task's decision record names its
scorer: "exact-name", "minilm" or "lexical"; a lexical scorer is reported once, with why.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from murakkab.passes.base import PassContext

from murakkab.catalogue import DEVICES, Capability
from murakkab.diagnostics import Diagnostic, DiagnosticError
from murakkab.executors import ExecutorError
from murakkab.frontend.resolve import format_literal, literal_fits
from murakkab.ir.core import (
    Const,
    Domain,
    ListOperand,
    Module,
    Op,
    Operand,
    Region,
    Value,
    Workflow,
)
from murakkab.ir.types import ListType, Type, is_assignable, join
from murakkab.source import Span

PASS = "bind-executors"
SCORERS = ("auto", "minilm", "lexical")
TOP = 5  # candidates kept in decision records and diagnostics
# Attributes of an nl.task that are not knob constraints.
NOT_KNOBS = frozenset({"description", "optional", "impl"})
HOW_TO_ADD = "add an executor (docs/executors.md) or name a capability as the task's description"


@dataclass(frozen=True)
class Candidate:
    capability: str
    score: float
    compatible: bool
    why: str

    def record(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def note(self) -> str:
        return f"{self.capability}: {self.score:.2f}, {self.why}"


@dataclass(frozen=True)
class BindExecutorsPass:
    """Does: rewrites each nl.task into the capability its description names or best matches.
    Requires: a verified logical module.
    Ensures: no nl.task remains; bound results have the capability's type and so do their uses.
    """

    name: ClassVar[str] = PASS
    min_score: float = 0.3
    margin: float = 0.03
    embeddings: str = "auto"

    def __post_init__(self) -> None:
        if self.embeddings not in SCORERS:
            message = f"{PASS}: embeddings must be one of {', '.join(SCORERS)}"
            raise DiagnosticError([Diagnostic.error("MK0501", Span.point("-p", 1, 1), message)])

    def apply(self, module: Module, ctx: PassContext) -> Module:
        scorers = _Scorers(self.embeddings, ctx)
        workflows = tuple(_Binder(self, ctx, scorers, w.name).workflow(w) for w in module.workflows)
        return module.replace(workflows=workflows)


# ---- scoring -----------------------------------------------------------------------


class Scorer(Protocol):
    @property
    def name(self) -> str: ...

    def scores(self, text: str, capabilities: Sequence[Capability]) -> list[float]: ...

    def text_scores(self, text: str, documents: tuple[str, ...]) -> list[float]: ...


def capability_text(capability: Capability) -> str:
    """What a task description is compared with: the doc string, else the name in words."""
    return capability.doc or re.sub(r"[._]", " ", capability.name)


@dataclass(frozen=True)
class MiniLmScorer:
    name: str = "minilm"

    def scores(self, text: str, capabilities: Sequence[Capability]) -> list[float]:
        return self.text_scores(text, tuple(capability_text(c) for c in capabilities))

    def text_scores(self, text: str, documents: tuple[str, ...]) -> list[float]:
        """Cosine of `text` to each document (embeddings are unit length)."""
        from murakkab.stdlib import text_tools

        vectors = _embedded(documents)
        query = text_tools.encoder().embed([text])[0].tolist()
        return [sum(a * b for a, b in zip(query, vector)) for vector in vectors]


@functools.cache
def _embedded(texts: tuple[str, ...]) -> tuple[tuple[float, ...], ...]:
    """Capability embeddings, computed once per process and catalogue."""
    from murakkab.stdlib import text_tools

    return tuple(tuple(row) for row in text_tools.encoder().embed(list(texts)).tolist())


_STOP = frozenset(
    "a an and are as at be by each for from how in into is it its of on or say "
    "so such that the their them then this to two what when which with".split()
)


def _stem(word: str) -> str:
    """A light suffix stripper: plurals, then -ing/-ed, then a final e (write, writing: writ)."""
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        word = word[:-1]
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
    return word[:-1] if word.endswith("e") and len(word) > 3 else word


def terms(text: str) -> Counter[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return Counter(_stem(word) for word in words if word not in _STOP)


@dataclass(frozen=True)
class LexicalScorer:
    reason: str
    name: str = "lexical"

    def scores(self, text: str, capabilities: Sequence[Capability]) -> list[float]:
        return self.text_scores(text, tuple(capability_text(c) for c in capabilities))

    def text_scores(self, text: str, texts: tuple[str, ...]) -> list[float]:
        """TF-IDF cosine of `text` to each of `texts`, which are the corpus."""
        idf, documents = _corpus(texts)
        unseen = math.log(1 + len(documents)) + 1
        query = {term: count * idf.get(term, unseen) for term, count in terms(text).items()}
        return [_cosine(query, document) for document in documents]


@functools.cache
def _corpus(texts: tuple[str, ...]) -> tuple[dict[str, float], tuple[dict[str, float], ...]]:
    """IDF of every term of the corpus, and each text's TF-IDF vector."""
    counted = [terms(text) for text in texts]
    df = Counter(term for counts in counted for term in counts)
    idf = {term: math.log((1 + len(texts)) / (1 + n)) + 1 for term, n in df.items()}
    vectors = tuple({t: c * idf[t] for t, c in counts.items()} for counts in counted)
    return idf, vectors


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    dot = sum(weight * b.get(term, 0.0) for term, weight in a.items())
    norms = math.sqrt(sum(w * w for w in a.values())) * math.sqrt(sum(w * w for w in b.values()))
    return dot / norms if norms > 0 else 0.0


@dataclass
class _Scorers:
    """The scorer of one pass run, made on first need; a lexical one is reported once."""

    embeddings: str
    ctx: PassContext
    made: Scorer | None = field(default=None)

    def get(self) -> Scorer:
        if self.made is None:
            self.made = self._make()
            if isinstance(self.made, LexicalScorer):
                self.ctx.decide(PASS, scorer="lexical", reason=self.made.reason)
        return self.made

    def _make(self) -> Scorer:
        return make_scorer(self.embeddings)


def make_scorer(embeddings: str = "auto") -> Scorer:
    """MiniLM when it loads (or is asked for), else the lexical scorer with why."""
    if embeddings == "lexical":
        return LexicalScorer("asked for with embeddings=lexical")
    from murakkab.stdlib import text_tools

    try:
        text_tools.encoder()
    except (ImportError, ExecutorError) as error:
        if embeddings == "minilm":
            message = f"{PASS}{{embeddings=minilm}} cannot load MiniLM: {error}"
            span = Span.point("-p", 1, 1)
            raise DiagnosticError([Diagnostic.error("MK0501", span, message)]) from error
        return LexicalScorer(f"MiniLM is not available ({error})")
    return MiniLmScorer()


# ---- type compatibility --------------------------------------------------------------


def _fits(operand: Operand, expected: Type) -> bool:
    if isinstance(operand, Const):
        return literal_fits(operand.value, expected)
    if isinstance(operand, ListOperand) and isinstance(expected, ListType):
        if all(_fits(item, expected.element) for item in operand.items):
            return True
    return is_assignable(operand.type, expected)


def incompatibility(op: Op, capability: Capability) -> str | None:
    """Why `op` cannot be bound to `capability`, or None if it can."""
    if len(op.operands) != len(capability.params):
        return f"takes {len(capability.params)} operand(s), not {len(op.operands)}"
    for index, (operand, (name, expected)) in enumerate(zip(op.operands, capability.params), 1):
        if not _fits(operand, expected):
            return f"operand {index} ({name}) must be {expected}, not {operand.type}"
    if not is_assignable(capability.result, op.result.type):
        return f"computes {capability.result}, not {op.result.type}"
    for name, value in op.attrs:
        if name in NOT_KNOBS or name.startswith("est_"):
            continue
        knob = capability.knob(name)
        if knob is None:
            return f"has no knob '{name}'"
        for item in value.values if isinstance(value, Domain) else (value,):
            if not knob.admits(item):
                domain = knob.describe_domain()
                return f"knob '{name}' takes {domain}, not {format_literal(item)}"
    family = (op.device or "").split(":")[0]
    if family in DEVICES and family not in capability.hardware:
        return f"runs on {', '.join(capability.hardware)}, not {family}"
    return None


# ---- rewriting -----------------------------------------------------------------------


class _Binder:
    """Walks one workflow in program order, binding tasks and retyping the uses of
    every value whose type a binding refined (regions and `flow.*` results too)."""

    def __init__(self, pass_: BindExecutorsPass, ctx: PassContext, scorers: _Scorers, where: str):
        self.pass_ = pass_
        self.ctx = ctx
        self.scorers = scorers
        self.where = where
        self.types: dict[str, Type] = {}

    def workflow(self, workflow: Workflow) -> Workflow:
        return workflow.replace(ops=self.block(workflow.ops), result=self.operand(workflow.result))

    def block(self, ops: tuple[Op, ...]) -> tuple[Op, ...]:
        return tuple(self.op(op) for op in ops)

    def op(self, op: Op) -> Op:
        op = op.replace(operands=tuple(self.operand(o) for o in op.operands))
        if op.region is not None:
            new = self.region_op(op, op.region)
        elif op.name == "nl.task":
            new = self.bind(op)
        else:
            return op
        if new.result.type != op.result.type:
            self.types[op.result.name] = new.result.type
        return new

    def operand(self, operand: Operand) -> Operand:
        if isinstance(operand, Value):
            retyped = self.types.get(operand.name)
            return operand if retyped is None else Value(operand.name, retyped)
        if isinstance(operand, ListOperand):
            items = tuple(self.operand(item) for item in operand.items)
            return ListOperand(items, ListType(join([item.type for item in items])))
        return operand

    def region_op(self, op: Op, region: Region) -> Op:
        args = region.args
        if op.name == "flow.repeat" and args and op.operands:
            # The region argument carries the initial value: it shares its type.
            args = (Value(args[0].name, op.operands[0].type),) + args[1:]
            if args[0].type != region.args[0].type:
                self.types[args[0].name] = args[0].type
        ops = self.block(region.ops)
        yielded = self.operand(region.result)
        result_type = op.result.type
        if op.name == "flow.parallel":
            result_type = ListType(yielded.type)
        elif op.name == "flow.repeat" and args and yielded.type == args[0].type:
            result_type = yielded.type
        result = Value(op.result.name, result_type)
        return op.replace(region=Region(args, ops, yielded), result=result)

    def bind(self, op: Op) -> Op:
        description = str(op.attr("description", ""))
        text = description.strip()
        capabilities = self.ctx.catalogue.all()
        named = [c for c in capabilities if text in (c.name, c.short_name)]
        if named:
            scorer_name, scored = "exact-name", [(c, 1.0) for c in named]
        else:
            scorer = self.scorers.get()
            scorer_name = scorer.name
            scored = list(zip(capabilities, scorer.scores(text, capabilities)))
        candidates = sorted(
            (_judge(op, capability, score) for capability, score in scored),
            key=lambda c: (-c.score, c.capability),
        )
        chosen, problem = self.choose(candidates, exact=bool(named))
        self.ctx.decide(
            PASS,
            workflow=self.where,
            op=op.result.name,
            task=description,
            chosen=None if chosen is None else chosen.name,
            scorer=scorer_name,
            candidates=[c.record() for c in candidates[:TOP]],
        )
        if chosen is None:
            assert problem is not None
            raise DiagnosticError([self.diagnostic(op, problem, candidates, scorer_name)])
        result_type = op.result.type
        if result_type.contains_any():
            result_type = chosen.result
        return op.replace(name=chosen.name, result=Value(op.result.name, result_type))

    def choose(
        self, candidates: list[Candidate], exact: bool
    ) -> tuple[Capability | None, tuple[str, str] | None]:
        """The winner, else (code, message) of the diagnostic to raise."""
        fitting = [c for c in candidates if c.compatible]
        if not fitting:
            message = "no executor fits the task: no candidate takes its operands and result"
            return None, ("MK0502", message)
        best = fitting[0]
        if not exact and best.score < self.pass_.min_score:
            message = (
                "no executor matches the task: the best one that fits its types, "
                f"{best.capability}, scores {best.score:.2f} < min-score {self.pass_.min_score:g}"
            )
            return None, ("MK0502", message)
        if len(fitting) > 1 and (exact or best.score - fitting[1].score < self.pass_.margin):
            second = fitting[1]
            message = (
                f"ambiguous task: {best.capability} ({best.score:.2f}) and "
                f"{second.capability} ({second.score:.2f}) both fit, within margin "
                f"{self.pass_.margin:g}"
            )
            if exact:
                message = f"ambiguous task: {best.capability} and {second.capability} both fit"
            return None, ("MK0503", message)
        chosen = self.ctx.catalogue.lookup(best.capability)
        assert chosen is not None
        return chosen, None

    def diagnostic(
        self, op: Op, problem: tuple[str, str], candidates: list[Candidate], scorer: str
    ) -> Diagnostic:
        code, message = problem
        shown = candidates[:TOP]
        fitting = next((c for c in candidates if c.compatible), None)
        if fitting is not None and fitting not in shown:
            shown.append(fitting)
        notes = [f"task: {format_literal(op.attr('description'))}"]
        notes += [f"candidates ({scorer} scores):"] + ["  " + c.note() for c in shown]
        hint = HOW_TO_ADD
        if code == "MK0503":
            example = format_literal(candidates[0].capability)
            hint = f"name one capability as the task's description, e.g. {example}"
        return Diagnostic.error(code, op.span, message, *notes, hint=hint)


def _judge(op: Op, capability: Capability, score: float) -> Candidate:
    why = incompatibility(op, capability)
    return Candidate(capability.name, round(score, 4), why is None, why or "fits")

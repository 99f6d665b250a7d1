"""The default planner: type-directed search ranked by semantic similarity.

The search builds a dataflow from the typed inputs, one step at a time. A step
calls a signature (an executor or a library workflow) on values that fit its
parameter types: inputs, results of earlier steps, or the text of a clause for a
parameter that takes an instruction (`question`, `problem`, `prompt` ...).

Which steps may appear:

- a step that does the semantic work (an LLM, a composition, a workflow) must
  cover a clause: be among the clause's `TOP` candidates by similarity, at least
  `FLOOR` similar and at most `MARGIN` below the best; a workflow, a whole recipe,
  covers a clause only as its best match;
- a tool may cover a clause the same way, or connect: turn data into what a later
  step takes (scene detection, transcription, frames);
- an LLM step never reads media (video, scenes, audio) directly: tools turn them
  into text or images first;
- an LLM step with a `list<any>` parameter may join two or more unread results;
- every step makes progress: it reads a value nothing has read yet or covers a
  clause nothing has covered yet, and it reads each value once.

A plan is complete when every input is read, every clause is covered and exactly
one result is left unread (the workflow's result, of the requested type). Each
step costs `BASE[kind]` plus `SHORTFALL` times how much less similar it is to its
clause than the clause's best candidate; a connector costs `CONNECTOR`, and a step
covering an earlier clause than one before it `OUT_OF_ORDER` more. The
search is uniform-cost (Dijkstra over partial plans, deduplicated by structure),
so the first complete plan popped is the cheapest: shorter plans of better
matching steps, existing workflows when they cover the request.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from murakkab.ir.core import Literal
from murakkab.ir.types import ANY, TEXT, ListType, Type, is_assignable
from murakkab.planner.clauses import Clause, about
from murakkab.planner.library import WORKFLOW, Library, Signature

TOP = 4  # candidates per clause that may cover it
FLOOR = 0.2  # least similarity that covers a clause
MARGIN = 0.05  # ... and at most this much below the clause's best candidate
SHORTFALL = 2.0  # cost per unit of similarity below the clause's best candidate
BASE = {"tool": 0.1, "llm": 0.3, "composition": 0.3, WORKFLOW: 0.15}
CONNECTOR = 0.25  # a tool that covers no clause, only turns data into what a step takes
OUT_OF_ORDER = 0.05  # a step covering an earlier clause than a step before it
MAX_STEPS = 8
MAX_EXPANDED = 3_000
OPTIONS_PER_PARAM = 3
MEDIA = frozenset({"video", "scene", "audio"})
# Parameters that take what the user asks for: a clause's text may fill them.
INSTRUCTION_PARAMS = frozenset({"question", "query", "problem", "prompt", "message", "task"})


# ---- plans ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Input:
    name: str
    type: Type
    value: Literal | None = None  # for the run request; None leaves the request out


@dataclass(frozen=True)
class Ref:
    name: str  # an input or an earlier step's result


@dataclass(frozen=True)
class Lit:
    text: str


@dataclass(frozen=True)
class Items:
    items: tuple[Ref, ...]


Arg = Ref | Lit | Items


def refs(arg: Arg) -> tuple[str, ...]:
    if isinstance(arg, Ref):
        return (arg.name,)
    if isinstance(arg, Items):
        return tuple(item.name for item in arg.items)
    return ()


@dataclass(frozen=True)
class Step:
    signature: Signature
    args: tuple[Arg, ...]
    result: str
    clause: int | None  # the clause it covers; None: it connects or joins
    how: str  # covers, connects or joins (see Role); "llm" when the LLM planner chose it
    similarity: float  # to its clause (a connector: to the whole description)
    cost: float
    note: str = ""  # the LLM planner's reason for the step

    def reads(self) -> tuple[str, ...]:
        return tuple(name for arg in self.args for name in refs(arg))


@dataclass(frozen=True)
class Plan:
    inputs: tuple[Input, ...]
    clauses: tuple[Clause, ...]
    steps: tuple[Step, ...]
    result: str
    cost: float

    def result_type(self) -> Type:
        return next(s.signature.result for s in self.steps if s.result == self.result)


class PlanningError(Exception):
    """The description cannot be planned; `lines` say why and what to do."""

    def __init__(self, message: str, lines: tuple[str, ...] = ()):
        super().__init__(message)
        self.lines = lines


# ---- similarity ------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    signature: Signature
    similarity: float
    usable: bool  # the inputs and other steps can feed it


@dataclass(frozen=True)
class Scores:
    """Similarity of every clause, and of the whole description, to every signature."""

    clauses: tuple[Clause, ...]
    signatures: tuple[Signature, ...]
    by_clause: tuple[tuple[float, ...], ...]
    by_description: tuple[float, ...]
    scorer: str

    def ranked(self, clause: int) -> list[tuple[Signature, float]]:
        pairs = zip(self.signatures, self.by_clause[clause])
        return sorted(pairs, key=lambda p: (-p[1], p[0].name))

    def best(self, clause: int) -> float:
        return max(self.by_clause[clause], default=0.0)


def score(
    description: str, clauses: tuple[Clause, ...], library: Library, inputs: tuple[Input, ...]
) -> Scores:
    from murakkab.passes.bind_executors import make_scorer

    scorer = make_scorer()
    docs = tuple(s.text() for s in library.signatures)
    names = tuple(s.words() for s in library.signatures)
    subject = about(
        [medium(i.type) for i in inputs if is_media(i.type) or medium(i.type) == "image"]
    )
    whole = clauses[0].query(subject) if len(clauses) == 1 else description

    def rounded(text: str) -> tuple[float, ...]:
        # The mean of the similarity to the doc string and to the name in words: a
        # doc string alone lets a clause's nouns outweigh its verb ("summarize the
        # talk in this video" is nearest to transcription by its doc string).
        pairs = zip(scorer.text_scores(text, docs), scorer.text_scores(text, names))
        return tuple(round((doc + name) / 2, 4) for doc, name in pairs)

    by_clause = tuple(rounded(c.query(subject)) for c in clauses)
    return Scores(clauses, library.signatures, by_clause, rounded(whole), scorer.name)


# ---- search ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _State:
    steps: tuple[Step, ...]
    read: frozenset[str]
    covered: frozenset[int]
    cost: float
    key: frozenset[tuple[object, ...]] = field(compare=False)


@dataclass
class SearchStats:
    expanded: int = 0
    complete: list[Plan] = field(default_factory=list)


def search(
    inputs: tuple[Input, ...],
    scores: Scores,
    outputs: tuple[Type, ...] | None = None,  # None: any result that is not media
    alternatives: int = 1,
) -> tuple[Plan | None, SearchStats]:
    """The cheapest complete plan (None when there is none within the limits), and
    the search's statistics with up to `alternatives` complete plans, cheapest first."""
    stats = SearchStats()
    counter = itertools.count()
    heap = [(0.0, next(counter), _State((), frozenset(), frozenset(), 0.0, frozenset()))]
    seen: set[frozenset[tuple[object, ...]]] = set()
    roles = _roles(scores)
    questions = [c.text for c in scores.clauses if c.question]
    request = questions[0] if questions else " ".join(c.text for c in scores.clauses)
    while heap and stats.expanded < MAX_EXPANDED:
        _, _, state = heapq.heappop(heap)
        if state.key in seen:
            continue
        seen.add(state.key)
        stats.expanded += 1
        result = _complete(state, inputs, scores, outputs)
        if result is not None:
            stats.complete.append(Plan(inputs, scores.clauses, state.steps, result, state.cost))
            if len(stats.complete) >= alternatives:
                break
            continue
        if len(state.steps) >= MAX_STEPS:
            continue
        values = {i.name: i.type for i in inputs}
        values.update((s.result, s.signature.result) for s in state.steps)
        # What names a value: an input's name, the words of the signature that made it.
        hints = {i.name: i.name for i in inputs}
        hints.update((s.result, s.signature.words()) for s in state.steps)
        for step in _steps(state, scores, roles, values, request, hints):
            new = _extend(state, step)
            if new.key not in seen:
                heapq.heappush(heap, (new.cost, next(counter), new))
    return (stats.complete[0] if stats.complete else None), stats


def _complete(
    state: _State, inputs: tuple[Input, ...], scores: Scores, outputs: tuple[Type, ...] | None
) -> str | None:
    """The result of a complete plan, or None."""
    if not state.steps or len(state.covered) < len(scores.clauses):
        return None
    if any(i.name not in state.read for i in inputs):
        return None
    unread = [s for s in state.steps if s.result not in state.read]
    if len(unread) != 1:
        return None
    return unread[0].result if returnable(unread[0].signature.result, outputs) else None


def _extend(state: _State, step: Step) -> _State:
    keys = _keys(state)
    covered = state.covered if step.clause is None else state.covered | {step.clause}
    # Ties go to the plan whose steps follow the clauses' order.
    later = any(s.clause is not None and s.clause > (step.clause or 0) for s in state.steps)
    cost = step.cost + (OUT_OF_ORDER if step.clause is not None and later else 0.0)
    return _State(
        state.steps + (step,),
        state.read | set(step.reads()),
        covered,
        state.cost + cost,
        state.key | {_step_key(step, keys)},
    )


def _keys(state: _State) -> dict[str, tuple[object, ...]]:
    keys: dict[str, tuple[object, ...]] = {}
    for step in state.steps:
        keys[step.result] = _step_key(step, keys)
    return keys


def _step_key(step: Step, keys: dict[str, tuple[object, ...]]) -> tuple[object, ...]:
    """A step by structure: what it calls on what (results by the step that made them)."""

    def arg_key(arg: Arg) -> object:
        if isinstance(arg, Ref):
            return keys.get(arg.name, arg.name)
        if isinstance(arg, Items):
            return tuple(keys.get(item.name, item.name) for item in arg.items)
        return arg.text

    return (step.signature.name, step.clause, tuple(arg_key(a) for a in step.args))


@dataclass(frozen=True)
class Role:
    """How a signature may enter a plan, and what that costs."""

    how: str  # covers (a clause), connects (a tool) or joins (an LLM over several results)
    clause: int | None  # the clause it covers, or whose text it is given to join
    cost: float


def _roles(scores: Scores) -> list[list[Role]]:
    roles: list[list[Role]] = [[] for _ in scores.signatures]
    index = {s.name: i for i, s in enumerate(scores.signatures)}
    joins: dict[int, Role] = {}
    for clause in range(len(scores.clauses)):
        best = scores.best(clause)
        ranked = scores.ranked(clause)
        for rank, (signature, similarity) in enumerate(ranked[: 2 * TOP]):
            cost = round(BASE[signature.kind] + SHORTFALL * (best - similarity), 4)
            i = index[signature.name]
            if why_not_cover(signature, rank, similarity, best) is None:
                roles[i].append(Role("covers", clause, cost))
            if not signature.is_tool and any(_gathers(t) for _, t in signature.params):
                if i not in joins or cost < joins[i].cost:
                    joins[i] = Role("joins", clause, cost)
    for i, signature in enumerate(scores.signatures):
        if signature.is_tool:
            roles[i].append(
                Role("connects", None, CONNECTOR + 0.1 * (1 - scores.by_description[i]))
            )
        if i in joins:
            roles[i].append(joins[i])
    return roles


def why_not_cover(signature: Signature, rank: int, similarity: float, best: float) -> str | None:
    """Why a clause's candidate at `rank` (0 the best) may not cover it; None if it may."""
    if similarity < FLOOR:
        return f"below {FLOOR:g}"
    if signature.kind == WORKFLOW and rank > 0:
        return "a workflow covers a clause only as its best match"
    if rank >= TOP:
        return f"not in the top {TOP}"
    if similarity < best - MARGIN:
        return f"more than {MARGIN:g} below the best"
    return None


def _steps(
    state: _State,
    scores: Scores,
    roles: list[list[Role]],
    values: dict[str, Type],
    request: str,
    hints: dict[str, str],
) -> Iterator[Step]:
    result = f"s{len(state.steps)}"
    made = {(s.signature.name, s.args) for s in state.steps}
    for index, signature in enumerate(scores.signatures):
        for role in roles[index]:
            clause = role.clause
            instruction = request if clause is None else scores.clauses[clause].text
            similarity = (
                scores.by_description[index] if clause is None else scores.by_clause[clause][index]
            )
            covers = role.how == "covers"
            for args in _arguments(signature, values, state.read, instruction, hints):
                if (signature.name, args) in made:
                    continue
                unread = {name for arg in args for name in refs(arg)} - state.read
                if role.how == "joins":
                    gathered = [a for a in args if isinstance(a, Items) and len(a.items) > 1]
                    if not gathered or len(unread) < 2:
                        continue
                elif not unread and not (covers and clause not in state.covered):
                    continue
                yield Step(
                    signature,
                    args,
                    result,
                    clause if covers else None,
                    role.how,
                    similarity,
                    role.cost,
                )


def _arguments(
    signature: Signature,
    values: dict[str, Type],
    read: frozenset[str],
    instruction: str,
    hints: dict[str, str],
) -> Iterator[tuple[Arg, ...]]:
    """Ways to fill the parameters from the values so far, the likeliest first: those
    whose values' names match the parameters' names ("tests" from code.write_tests)."""
    reads_media = signature.kind != "llm"
    options: list[list[Arg | None]] = []
    for name, type_ in signature.params:
        if _gathers(type_):
            options.append([None])  # filled once the others are chosen
            continue
        found = _fill(name, type_, values, read, instruction, reads_media, hints)
        if not found:
            return
        choices: list[Arg | None] = [*found[:OPTIONS_PER_PARAM]]
        options.append(choices)

    def fit(chosen: tuple[Arg | None, ...]) -> int:
        pairs = zip(signature.params, chosen)
        return sum(
            1
            for (name, _), arg in pairs
            if arg and any(_matches(name, hints[n]) for n in refs(arg))
        )

    for chosen in sorted(itertools.product(*options), key=lambda c: -fit(c)):
        used = {n for arg in chosen if arg is not None for n in refs(arg)}
        args: list[Arg] = []
        for (_, type_), arg in zip(signature.params, chosen):
            if arg is None:
                gathered = _gather(type_, values, read, used, reads_media)
                if gathered is None:
                    break
                arg = gathered
            args.append(arg)
        else:
            names = [n for arg in args for n in refs(arg)]
            if len(names) == len(set(names)):  # a step reads each value once
                yield tuple(args)


def _matches(param: str, hint: str) -> bool:
    """Does a parameter's name name a value ("tests" and "code write tests")?"""
    return _stem(param) in {_stem(word) for word in hint.split()}


def _stem(word: str) -> str:
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


def _gathers(type_: Type) -> bool:
    """A `list<any>` parameter (context, items) takes every unread value at once."""
    return isinstance(type_, ListType) and type_.element == ANY


def _gather(
    type_: Type, values: dict[str, Type], read: frozenset[str], used: set[str], reads_media: bool
) -> Arg | None:
    usable = [n for n, t in values.items() if n not in used and (reads_media or not is_media(t))]
    unread = [n for n in usable if n not in read]
    chosen = unread or usable[-1:]
    return Items(tuple(Ref(n) for n in chosen)) if chosen else None


def _fill(
    name: str,
    type_: Type,
    values: dict[str, Type],
    read: frozenset[str],
    instruction: str,
    reads_media: bool,
    hints: dict[str, str],
) -> list[Arg]:
    """Values that fit a parameter, the likeliest first: unread before read, those
    whose name matches the parameter's, results (the latest first) before inputs (in
    their order). An instruction parameter takes the clause's text or a text input
    (one of its own name first), never an intermediate result."""
    order = {name: i for i, name in enumerate(values)}

    def rank(value: str) -> tuple[bool, bool, int]:
        is_input = hints[value] == value
        position = order[value] if is_input else len(values) - order[value]
        return (value in read, not _matches(name, hints[value]), position + is_input * 1000)

    instruction_param = name in INSTRUCTION_PARAMS and type_ == TEXT
    fitting: list[Arg] = []
    for value in sorted(values, key=rank):
        value_type = values[value]
        if not reads_media and is_media(value_type):
            continue
        if instruction_param and hints[value] != value:
            continue
        if is_assignable(value_type, type_):
            fitting.append(Ref(value))
        elif isinstance(type_, ListType) and is_assignable(value_type, type_.element):
            fitting.append(Items((Ref(value),)))
    if instruction_param:
        first = fitting[0] if fitting else None
        named = [first] if first and refs(first) == (name,) and name not in read else []
        fitting = named + [Lit(instruction)] + fitting[len(named) :]
    return fitting


def medium(type_: Type) -> str:
    """A type's primitive, through one list: `list<video>` is video."""
    return str(type_.element if isinstance(type_, ListType) else type_)


def is_media(type_: Type) -> bool:
    """Video, scenes or audio (or lists of them): what an LLM never reads directly."""
    return medium(type_) in MEDIA


def returnable(type_: Type, outputs: tuple[Type, ...] | None) -> bool:
    """May a workflow return `type_`: one of `outputs`, or (None) anything but media
    and images."""
    if outputs is None:
        return not is_media(type_) and medium(type_) != "image"
    return any(is_assignable(type_, o) for o in outputs)


def candidates(scores: Scores, clause: int, inputs: tuple[Input, ...]) -> list[Candidate]:
    """The clause's best candidates by similarity, each marked usable when every
    parameter can be fed: by an input or the result of some signature."""
    made = [i.type for i in inputs] + [s.result for s in scores.signatures]

    def fed(name: str, type_: Type) -> bool:
        if name in INSTRUCTION_PARAMS or _gathers(type_):
            return True
        element = type_.element if isinstance(type_, ListType) else None
        return any(
            is_assignable(t, type_) or (element is not None and is_assignable(t, element))
            for t in made
        )

    return [
        Candidate(signature, similarity, all(fed(n, t) for n, t in signature.params))
        for signature, similarity in scores.ranked(clause)[: TOP * 2]
    ]

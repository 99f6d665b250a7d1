"""The LLM planner's reply: its constrained JSON form, the prompt, and the checker.

The form (`SCHEMA`, narrowed by `schema_for` to the catalogue's names and the job's
inputs):

    {"steps": [{"name": "scenes", "call": "video.scene_detect",
                "args": [{"input": "video"}], "why": "split the video"}, ...],
     "result": "summary"}

where an argument is one of {"input": NAME}, {"step": NAME}, {"text": "..."} or
{"list": [{"input": NAME} | {"step": NAME}, ...]}. `check_reply` turns a reply into
a `search.Plan`, collecting every error as a sentence: unknown names (with close
matches), argument counts, types (`is_assignable`; a single value fits a `list<T>`
parameter when it fits `T`), references to later steps, LLM steps reading media,
unread inputs and results.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from murakkab.ir.types import ANY, TEXT, ListType, Type, is_assignable
from murakkab.planner.clauses import split_clauses
from murakkab.planner.library import Library, Signature
from murakkab.planner.planning import Job
from murakkab.planner.search import (
    Arg,
    Input,
    Items,
    Lit,
    Plan,
    Ref,
    Step,
    is_media,
    refs,
    returnable,
)

# ---- the JSON form ---------------------------------------------------------------------


def _one_key(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {key: value},
        "required": [key],
        "additionalProperties": False,
    }


def _schema(calls: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    name = {"type": "string"}
    ref = [_one_key("input", inputs), _one_key("step", name)]
    listed = _one_key("list", {"type": "array", "items": {"anyOf": ref}})
    arg = {"anyOf": [*ref, _one_key("text", {"type": "string"}), listed]}
    step = {
        "type": "object",
        "properties": {
            "name": name,
            "call": calls,
            "args": {"type": "array", "items": arg},
            "why": {"type": "string"},
        },
        "required": ["name", "call", "args", "why"],
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "properties": {"steps": {"type": "array", "items": step}, "result": name},
        "required": ["steps", "result"],
        "additionalProperties": False,
    }


SCHEMA: dict[str, Any] = _schema({"type": "string"}, {"type": "string"})


def schema_for(library: Library, inputs: tuple[Input, ...]) -> dict[str, Any]:
    """`SCHEMA` with `call` and `input` narrowed to the catalogue's and the job's names."""
    calls = {"type": "string", "enum": [s.name for s in library.signatures]}
    names = {"type": "string", "enum": [i.name for i in inputs]} if inputs else {"type": "string"}
    return _schema(calls, names)


EXAMPLE = (
    '{"steps": [{"name": "scenes", "call": "video.scene_detect", "args": [{"input": "video"}],'
    ' "why": "split the video into scenes"}, ...], "result": "summary"}'
)
RULES = (
    "Call only names in the catalogue, with exactly as many arguments as it has"
    " parameters, in their order.",
    "Each argument's type must fit its parameter's type: a single value fits a list<T>"
    " parameter when its type fits T; any and list<any> take every type; a"
    ' {"text": ...} argument fits only a text parameter.',
    "A step reads only the job's inputs and the results of earlier steps.",
    "Step names are distinct identifiers (letters, digits and _) and differ from the"
    " inputs' names.",
    "A step of kind llm never reads media (video, scene, audio, or lists of them):"
    " tools turn media into text or images first.",
    "Every input is read by some step, and every step's result is read by a later step,"
    " except the result step's.",
    '"result" names the step whose result the workflow returns; it is not media.',
    '"why" says in a few words why the step is there.',
)


def system_prompt(job: Job, library: Library) -> str:
    catalogue = [
        f"- {s.interface()} [{s.kind}]: {' '.join(s.text().split())}" for s in library.signatures
    ]
    inputs = [f"- {i.name}: {i.type}" for i in job.inputs] or ["- (none)"]
    rules = [f"{n}. {rule}" for n, rule in enumerate(RULES, 1)]
    return "\n".join(
        [
            "You plan compound AI workflows. A plan is a list of steps: each calls one"
            " executor or workflow of the catalogue on the job's inputs, the results of"
            " earlier steps or literal text; the workflow returns one step's result.",
            "",
            "Catalogue (name(parameters) -> result [kind]: what it does):",
            *catalogue,
            "",
            "The job's inputs:",
            *inputs,
            "",
            "Reply with one JSON object only, in this form:",
            EXAMPLE,
            'Each argument is exactly one of {"input": NAME}, {"step": NAME},'
            ' {"text": "literal text"} or {"list": [{"input": NAME} or {"step": NAME}, ...]}.',
            "",
            "Rules:",
            *rules,
        ]
    )


def retry_prompt(errors: list[str]) -> str:
    listed = "\n".join(f"- {error}" for error in errors)
    return (
        f"That plan has these errors:\n{listed}\n"
        "Reply with the corrected plan: the whole JSON object, in the same form."
    )


# ---- checking a reply ------------------------------------------------------------------


@dataclass
class _Scope:
    """What the steps so far may read, and what they did read."""

    inputs: dict[str, Type]
    steps: dict[str, Type] = field(default_factory=dict)
    read: set[str] = field(default_factory=set)


def check_reply(reply: str, job: Job, library: Library) -> tuple[Plan | None, list[str]]:
    """The reply as a plan, or None and every error found, each a sentence."""
    data, errors = _parse(reply)
    if data is None:
        return None, errors
    scope = _Scope({i.name: i.type for i in job.inputs})
    steps: list[Step] = []
    for index, raw in enumerate(data["steps"], 1):
        step = _check_step(index, raw, library, scope, errors)
        if step is not None:
            steps.append(step)
    result = data["result"]
    errors += _check_wiring(job, scope, [s for s in data["steps"] if isinstance(s, dict)], result)
    if result in scope.steps:
        errors += _check_result(result, scope.steps[result], job)
    if errors:
        return None, errors
    clauses = split_clauses(job.description)
    return Plan(job.inputs, clauses, tuple(steps), result, 0.0), []


def _parse(reply: str) -> tuple[dict[str, Any] | None, list[str]]:
    from murakkab.stdlib.llm_openai import strip_fences

    text = strip_fences(reply) if "```" in reply else reply.strip()
    try:
        data = json.loads(text)
    except ValueError as error:
        return None, [f"the reply is not JSON ({error}): reply with the JSON object only"]
    form = 'the form {"steps": [...], "result": NAME}'
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        return None, [f"the reply is not in {form}: it needs a list of steps"]
    if not isinstance(data.get("result"), str):
        return None, [f'the reply is not in {form}: "result" must name a step']
    if not data["steps"]:
        return None, ["the plan has no steps"]
    return data, []


def _check_step(
    index: int, raw: Any, library: Library, scope: _Scope, errors: list[str]
) -> Step | None:
    """One step, checked against the catalogue and what earlier steps made; its name
    enters the scope even when it has errors, so that later steps are judged on
    their own (with the result type `any` when the call is unknown)."""
    if not isinstance(raw, dict) or not isinstance(raw.get("call"), str):
        errors.append(f'step {index} is not an object with "name", "call", "args" and "why"')
        return None
    name, call, why = raw.get("name"), raw["call"], raw.get("why", "")
    where = f'step {index} ("{name}", {call})'
    found = len(errors)
    if not isinstance(name, str) or not name.isidentifier():
        errors.append(f"{where}: the step name {json.dumps(name)} is not an identifier")
    elif name in scope.inputs or name in scope.steps:
        errors.append(f'{where}: the name "{name}" is already taken by an input or step')
    signature = library.get(call)
    if signature is None:
        errors.append(f"{where}: {_unknown(call, library)}")
    args = _check_args(where, raw.get("args"), signature, scope, errors)
    if isinstance(name, str) and name not in scope.steps:
        scope.steps[name] = signature.result if signature else ANY
    if signature is None or args is None or len(errors) > found or not isinstance(name, str):
        return None
    note = why if isinstance(why, str) else ""
    return Step(signature, args, name, None, "llm", 0.0, 0.0, note)


def _unknown(call: str, library: Library) -> str:
    names = [s.name for s in library.signatures]
    short = {s.name.rsplit(".", 1)[-1]: s.name for s in library.signatures}
    close = difflib.get_close_matches(call, names, n=3, cutoff=0.6)
    close += [short[s] for s in difflib.get_close_matches(call.rsplit(".", 1)[-1], short, n=2)]
    close = list(dict.fromkeys(close))[:3]
    hint = f"; did you mean {' or '.join(close)}?" if close else ""
    return f'unknown call "{call}": no executor or workflow in the catalogue has that name{hint}'


def _check_args(
    where: str, raw: Any, signature: Signature | None, scope: _Scope, errors: list[str]
) -> tuple[Arg, ...] | None:
    if not isinstance(raw, list):
        errors.append(f'{where}: "args" must be a list of arguments')
        return None
    if signature is None:
        for item in raw:  # still note what it reads, and what it may not
            _resolve_arg(where, item, scope, errors)
        return None
    if len(raw) != len(signature.params):
        count = len(signature.params)
        errors.append(
            f"{where}: {signature.interface()} takes {count}"
            f" argument{'s' if count != 1 else ''}, not {len(raw)}"
        )
        for item in raw:
            _resolve_arg(where, item, scope, errors)
        return None
    args: list[Arg] = []
    for position, (item, (param, type_)) in enumerate(zip(raw, signature.params), 1):
        arg = _check_arg(f"{where}, argument {position} ({param}: {type_})", item, type_, scope)
        if isinstance(arg, str):
            errors.append(arg)
            continue
        args.append(arg)
        for medium in _media_read(arg, scope, signature):
            errors.append(
                f"{where}: {signature.name} is an LLM and cannot read {medium} directly;"
                " turn it into text or images with tools first"
            )
    return tuple(args) if len(args) == len(raw) else None


def _resolve_arg(where: str, raw: Any, scope: _Scope, errors: list[str]) -> None:
    """Record what an argument of an unusable call reads, and report bad references."""
    for ref in raw.get("list", []) if isinstance(raw, dict) else []:
        _reference(ref, scope, where, errors)
    if isinstance(raw, dict) and ("input" in raw or "step" in raw):
        _reference(raw, scope, where, errors)


def _reference(raw: Any, scope: _Scope, where: str, errors: list[str]) -> None:
    result = _ref(raw, scope)
    if isinstance(result, str):
        errors.append(f"{where}: {result}")


def _ref(raw: Any, scope: _Scope) -> tuple[str, Type] | str:
    """An {"input": NAME} or {"step": NAME} as the name and its type, or what is wrong."""
    if not isinstance(raw, dict) or len(raw) != 1:
        return 'a reference must be {"input": NAME} or {"step": NAME}'
    ((kind, name),) = raw.items()
    if kind not in ("input", "step") or not isinstance(name, str):
        return 'a reference must be {"input": NAME} or {"step": NAME}'
    scope.read.add(name)
    if kind == "input" and name not in scope.inputs:
        inputs = ", ".join(scope.inputs) or "none"
        was = f'; "{name}" is a step: use {{"step": "{name}"}}' if name in scope.steps else ""
        return f'"{name}" is not an input of the job (inputs: {inputs}){was}'
    if kind == "step" and name not in scope.steps:
        if name in scope.inputs:
            return f'"{name}" is an input, not a step: use {{"input": "{name}"}}'
        return f'"{name}" is not an earlier step: a step reads only the results of steps before it'
    return name, (scope.inputs[name] if kind == "input" else scope.steps[name])


def _check_arg(where: str, raw: Any, param: Type, scope: _Scope) -> Arg | str:
    """The argument for a parameter of type `param`, or what is wrong with it."""
    if isinstance(raw, dict) and set(raw) == {"text"} and isinstance(raw["text"], str):
        if isinstance(param, ListType) or not is_assignable(TEXT, param):
            return f"{where}: literal text fits only a text parameter"
        return Lit(raw["text"])
    if isinstance(raw, dict) and set(raw) == {"list"} and isinstance(raw["list"], list):
        return _check_list(where, raw["list"], param, scope)
    found = _ref(raw, scope)
    if isinstance(found, str):
        shape = 'an argument is {"input": NAME}, {"step": NAME}, {"text": ...} or {"list": [...]}'
        return f"{where}: {found if isinstance(raw, dict) and len(raw) == 1 else shape}"
    name, type_ = found
    if is_assignable(type_, param):
        return Ref(name)
    if isinstance(param, ListType) and is_assignable(type_, param.element):
        return Items((Ref(name),))
    return f'{where}: "{name}" is a {type_}, which does not fit {param}'


def _check_list(where: str, raw: list[Any], param: Type, scope: _Scope) -> Arg | str:
    problems = []
    items = []
    for item in raw:
        found = _ref(item, scope)
        if isinstance(found, str):
            problems.append(found)
            continue
        name, type_ = found
        items.append(Ref(name))
        if isinstance(param, ListType) and not is_assignable(type_, param.element):
            problems.append(f'"{name}" is a {type_}, which does not fit {param}')
    if not isinstance(param, ListType):
        problems.insert(0, f"a list does not fit {param}")
    if not raw:
        problems.append("the list is empty")
    return f"{where}: {'; '.join(problems)}" if problems else Items(tuple(items))


def _media_read(arg: Arg, scope: _Scope, signature: Signature) -> list[str]:
    """The media an LLM step's argument reads, by name and type."""
    if signature.kind != "llm":
        return []
    types = {**scope.inputs, **scope.steps}
    return [f'"{n}" ({types[n]})' for n in refs(arg) if is_media(types[n])]


def _check_wiring(job: Job, scope: _Scope, steps: list[dict[str, Any]], result: str) -> list[str]:
    errors = [
        f'the input "{i.name}" is read by no step: every input must be read'
        for i in job.inputs
        if i.name not in scope.read
    ]
    if result not in scope.steps:
        errors.append(f'"result" is "{result}", which names no step')
    for raw in steps:
        name = raw.get("name")
        if isinstance(name, str) and name != result and name not in scope.read:
            errors.append(
                f'the result of step "{name}" is read by no later step: read it, remove'
                " the step, or make it the result"
            )
    return errors


def _check_result(name: str, type_: Type, job: Job) -> list[str]:
    if returnable(type_, job.outputs):
        return []
    if job.outputs is not None:
        wanted = " or ".join(map(str, job.outputs))
        return [f'the result step "{name}" makes a {type_}, not the {wanted} asked for']
    return [f'the result step "{name}" makes a {type_}: a workflow returns no media']

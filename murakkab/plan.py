"""The executable plan: a placed workflow as plain data, what backends render and runtimes run.

`build_plan` reads a placed (or physical) module after estimation and keeps
only what running needs: for every op its capability, implementation (with the
fallbacks to try when it fails), knob values, arguments, placement and
predictions; `flow.parallel` / `flow.repeat` keep their body as nested steps.
A plan is JSON-able (`to_json` / `from_json`, a round trip), so the Python and
Ray backends render it with jinja2 and the local runtime interprets it
directly, and all three run the same thing.

Arguments are tagged trees: `{"ref": NAME}` reads a workflow input, a step's
result or a region argument; `{"const": VALUE}` is a literal the user wrote;
`{"list": [ARG, ...]}` gathers items into one list (no flattening).

Placement attributes (what the `placement` pass writes on every non-flow op):
`device` ("cpu", "gpu:a100x4", "hosted"), `node` (a node of the cluster),
`cores` (CPU cores held), `gpu_ids` (indices of the node's GPUs of that type),
`start` (planned start in seconds from the job's start), and on ops inside a
`flow.parallel` that run in waves, `at_once` (copies running at the same time).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from murakkab.device import parse_device
from murakkab.executors import Implementation, implementation, implementations_of
from murakkab.ir.core import Const, ListOperand, Literal, Module, Op, Operand, Value, Workflow
from murakkab.slo import SloSpec, format_bound

PLAN_FORMAT = 1
FLOW_OPS = ("flow.parallel", "flow.repeat")
# The attributes that say how and where an op runs rather than what it computes.
_NOT_KNOBS = frozenset(
    {
        "impl",
        "node",
        "gpu_ids",
        "start",
        "at_once",
        "instance",
        "shared",
        "fuse",
        "prefix_of",
        "optional",
    }
)


@dataclass(frozen=True)
class Impl:
    """One implementation a step may run: its name, `module:function` entry, and
    the Python packages and pip extra it needs (for the "install X" message)."""

    name: str
    entry: str
    requires: tuple[str, ...] = ()
    extra: str = ""

    @staticmethod
    def of(impl: Implementation) -> Impl:
        return Impl(impl.name, impl.entry, impl.requires, EXTRAS.get(impl.name, ""))


# The pip extra that installs an implementation's packages (pyproject.toml).
EXTRAS = {
    "minilm-onnx": "embeddings",
    "openai-compatible": "llm",
    "opencv.hist": "video",
    "opencv.seek": "video",
    "faster-whisper": "speech",
    "haar-ocr": "vision",
    "rapidocr": "vision",
    "llama.cpp": "local-llm",
    "vllm": "vllm",
    "open-clip": "clip",
}


@dataclass(frozen=True)
class Placement:
    device: str  # "cpu", "gpu:a100x4", "hosted"
    node: str = ""  # empty: hosted, or not placed
    cores: int = 1
    gpu_ids: tuple[int, ...] = ()
    start: float = 0.0

    @property
    def gpu_type(self) -> str:
        """ "a100" for "gpu:a100x4"; empty off a GPU (and for a bare "gpu")."""
        return parse_device(self.device).gpu_type


@dataclass(frozen=True)
class Step:
    """One op. Leaf steps have `impl`; flow steps have `count` copies (parallel)
    or rounds (repeat) of `body`, whose result is `yields`."""

    name: str  # the op's result name, e.g. "debated.revisions.revision"
    op: str  # capability ("video.scene_detect") or a flow op
    args: tuple[Any, ...]  # tagged argument trees (module docstring)
    knobs: dict[str, Literal] = field(default_factory=dict)
    impl: Impl | None = None
    fallbacks: tuple[Impl, ...] = ()
    placement: Placement | None = None
    predicted: dict[str, float] = field(default_factory=dict)  # latency_s, energy_j, cost_usd
    batch: int = 1  # calls one instance may serve together
    instance: str = ""  # model-instance key; steps with the same key share one instance
    deps: tuple[str, ...] = ()  # steps (same scope) whose results this step reads
    count: int = 0  # flow ops: agents or rounds
    body: tuple[Step, ...] = ()
    body_args: tuple[str, ...] = ()  # flow.repeat: the carried value's name
    yields: Any = None  # flow ops: the argument tree each copy/round yields

    @property
    def is_flow(self) -> bool:
        return self.op in FLOW_OPS


@dataclass(frozen=True)
class Plan:
    workflow: str
    params: tuple[tuple[str, str], ...]  # (name, type) in order
    steps: tuple[Step, ...]  # topological order
    result: Any  # argument tree
    source: str = ""
    pipeline: str = ""
    slo: str = ""  # as the IR prints it: "latency < 30s, cost < 2usd"
    objective: str = ""  # "minimize energy"
    cluster: str = ""
    defaults: dict[str, Any] = field(default_factory=dict)  # inputs from the file's run request
    doc: str = ""
    placement: dict[str, Any] = field(default_factory=dict)  # status, objective, bound, gap...
    predicted: dict[str, float] = field(default_factory=dict)  # end to end

    def to_json(self) -> str:
        return json.dumps({"format": PLAN_FORMAT, **asdict(self)}, indent=1, sort_keys=True)

    @staticmethod
    def from_json(text: str) -> Plan:
        data = json.loads(text)
        if data.pop("format", None) != PLAN_FORMAT:
            raise ValueError(f"not a murakkab plan of format {PLAN_FORMAT}")
        data["params"] = tuple(tuple(p) for p in data["params"])
        data["steps"] = tuple(_step(s) for s in data["steps"])
        return Plan(**data)

    def walk(self) -> list[Step]:
        """Every step, bodies included, in order."""
        out: list[Step] = []

        def visit(steps: tuple[Step, ...]) -> None:
            for step in steps:
                out.append(step)
                visit(step.body)

        visit(self.steps)
        return out


def _step(data: dict[str, Any]) -> Step:
    for key in ("args", "deps", "body_args"):
        data[key] = tuple(data[key])
    data["body"] = tuple(_step(s) for s in data["body"])
    data["fallbacks"] = tuple(_impl(i) for i in data["fallbacks"])
    data["impl"] = _impl(data["impl"]) if data["impl"] is not None else None
    if data["placement"] is not None:
        placement = dict(data["placement"])
        placement["gpu_ids"] = tuple(placement["gpu_ids"])
        data["placement"] = Placement(**placement)
    return Step(**data)


def _impl(data: dict[str, Any]) -> Impl:
    return Impl(data["name"], data["entry"], tuple(data["requires"]), data["extra"])


# ---- building a plan from IR ---------------------------------------------------------


class NoWorkflow(ValueError):
    """The module has no workflow of the name asked for, or none at all. The
    message ("defines no workflow ...") follows the file's name."""


def build_plan(
    module: Module,
    workflow: str | None = None,
    *,
    source: str = "",
    pipeline: str = "",
    cluster: str = "",
    placement: dict[str, Any] | None = None,
) -> Plan:
    """The plan of `workflow` (default: the one the module's first run request
    names, else the first workflow) in a physical or placed module. Raises
    `NoWorkflow` when the module has no such workflow, or none at all."""
    name = workflow or (module.requests[0].workflow if module.requests else None)
    chosen = module.workflow(name) if name else (module.workflows or (None,))[0]
    if chosen is None:
        defined = ", ".join(w.name for w in module.workflows)
        if name is None or not defined:
            raise NoWorkflow("defines no workflow")
        raise NoWorkflow(f"defines no workflow '{name}' (it defines {defined})")
    request = next((r for r in module.requests if r.workflow == chosen.name), None)
    slo = request.slo if request is not None else SloSpec()
    defaults = (
        {p.name: _plain(a) for p, a in zip(chosen.params, request.args, strict=False)}
        if request is not None
        else {}
    )
    return Plan(
        workflow=chosen.name,
        params=tuple((p.name, str(p.type)) for p in chosen.params),
        steps=_steps(chosen.ops),
        result=arg_tree(chosen.result),
        source=source,
        pipeline=pipeline,
        slo=", ".join(format_bound(b) for b in slo.bounds),
        objective=(f"{slo.objective.direction} {slo.objective.metric}" if slo.objective else ""),
        cluster=cluster,
        defaults=defaults,
        doc=chosen.doc or "",
        placement=dict(placement or {}),
        predicted=_workflow_prediction(chosen),
    )


def arg_tree(operand: Operand) -> Any:
    if isinstance(operand, Value):
        return {"ref": operand.name}
    if isinstance(operand, Const):
        return {"const": _plain(operand.value)}
    assert isinstance(operand, ListOperand)
    return {"list": [arg_tree(item) for item in operand.items]}


def refs(tree: Any) -> list[str]:
    """Every name an argument tree reads."""
    if "ref" in tree:
        return [tree["ref"]]
    if "list" in tree:
        return [name for item in tree["list"] for name in refs(item)]
    return []


def _steps(ops: tuple[Op, ...]) -> tuple[Step, ...]:
    names = {op.result.name for op in ops}
    return tuple(_step_of(op, names) for op in ops)


def _step_of(op: Op, scope: set[str]) -> Step:
    args = tuple(arg_tree(o) for o in op.operands)
    deps = tuple(sorted({n for a in args for n in refs(a) if n in scope}))
    predicted = {
        key: float(value)
        for key, attr in (
            ("latency_s", "est_latency"),
            ("energy_j", "est_energy"),
            ("cost_usd", "est_cost"),
        )
        if isinstance(value := op.attr(attr), (int, float))
    }
    if op.region is not None:
        count_attr = "agents" if op.name == "flow.parallel" else "rounds"
        count = op.attr(count_attr)
        return Step(
            name=op.result.name,
            op=op.name,
            args=args,
            knobs={count_attr: count} if isinstance(count, int) else {},
            predicted=predicted,
            deps=deps,
            count=count if isinstance(count, int) else 1,
            body=_steps(op.region.ops),
            body_args=tuple(a.name for a in op.region.args),
            yields=arg_tree(op.region.result),
        )
    chosen = op.attr("impl")
    impl = implementation(op.name, chosen) if isinstance(chosen, str) else None
    if impl is None:
        impl = next(iter(implementations_of(op.name)), None)
    knobs = {
        k: _plain(v)
        for k, v in op.attrs
        if k not in _NOT_KNOBS and not k.startswith("est_") and not hasattr(v, "values")
    }
    batch = op.attr("batch")
    instance = op.attr("instance")
    return Step(
        name=op.result.name,
        op=op.name,
        args=args,
        knobs=knobs,
        impl=Impl.of(impl) if impl is not None else None,
        fallbacks=fallbacks(op, impl),
        placement=_placement(op),
        predicted=predicted,
        batch=batch if isinstance(batch, int) and batch > 0 else 1,
        instance=instance if isinstance(instance, str) else _instance_key(op, impl),
        deps=deps,
    )


def fallbacks(op: Op, chosen: Implementation | None) -> tuple[Impl, ...]:
    """What the runtime tries, in order, when the chosen implementation fails for
    good: the other implementations of the op's capability that run on the side
    it was placed on (CPU, or GPU whatever the type and count), in declaration
    order, except `openai-compatible`. A hosted op, or one with no
    implementation chosen, has none."""
    side = parse_device(op.device).side  # an op not placed runs on the CPU
    if side == "hosted" or chosen is None:
        return ()
    # A hosted endpoint is never a drop-in for a local device: it needs an API key
    # and sends the op's data off this machine, which the user must choose, not a
    # fallback.
    return tuple(
        Impl.of(i)
        for i in implementations_of(op.name)
        if i.name != chosen.name
        and side in i.devices
        and i.name != "openai-compatible"
        and i.is_configured()
    )


def _placement(op: Op) -> Placement | None:
    if op.device is None:
        return None
    cores, start, node = op.attr("cores"), op.attr("start"), op.attr("node")
    ids = op.attr("gpu_ids")
    return Placement(
        device=op.device,
        node=node if isinstance(node, str) else "",
        cores=int(cores) if isinstance(cores, (int, float)) and op.device == "cpu" else 1,
        gpu_ids=tuple(int(i) for i in ids if isinstance(i, int)) if isinstance(ids, tuple) else (),
        start=float(start) if isinstance(start, (int, float)) else 0.0,
    )


def _instance_key(op: Op, impl: Implementation | None) -> str:
    """Ops of one implementation and model on one device share an instance."""
    model = op.attr("model")
    parts = [impl.name if impl is not None else op.name]
    if isinstance(model, str):
        parts.append(model)
    return "@".join(["/".join(parts), op.device or "cpu"])


def _workflow_prediction(workflow: Workflow) -> dict[str, float]:
    """End-to-end predictions, when the estimate stage put them on the ops:
    latency from `est_*` is per op; the sums here are cost and energy only."""
    top = [op for op in workflow.ops]
    out: dict[str, float] = {}
    for key, attr in (("energy_j", "est_energy"), ("cost_usd", "est_cost")):
        values = [v for op in top if isinstance(v := op.attr(attr), (int, float))]
        if values:
            out[key] = float(sum(values))
    return out


def _plain(value: Literal) -> Any:
    """A literal as JSON data (tuples become lists)."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value

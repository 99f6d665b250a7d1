"""batching: the operating point and batch size of each LLM op, from its latency-vs-load curve.

An LLM op of a physical module runs on an instance of its model profile
(`model/MODEL/GPU/tpN`, `model/MODEL/cpu/tp0`, `model/MODEL/hosted/tp0`) at an
offered load `load` (output tokens/s per instance). A busier instance spends
less per token but each call takes longer (TTFT + tokens x TPOT grows with the
load), so the pass picks, per op, the largest load whose call still fits the
op's latency budget.

Budget (the share rule): with a latency SLO `B` and the workflow's predicted
latency `T` (its critical path, at the loads as written), an op's budget per
call is its predicted call latency times `B / T`. Scaling every op by the same
factor keeps the critical path within `B`, so each op gets a share of the SLO
proportional to its predicted latency on that path; an op off the critical
path gets at least its share. Without a latency SLO (or with a tier the
estimate could not resolve) the load is kept.

Candidates: the profile's points, the load as written, and the largest load
whose call fits the budget (bisection on the interpolated curve), all within
[first point, saturation]. The largest candidate that fits wins; when none
fits, the first point (the fastest) is taken and the record says the budget is
not met. An SLO the written loads already meet gives a factor of at least 1,
so the written load fits and a load is only ever raised: cost and energy per
token go down and the critical path stays within the SLO. Under `minimize
latency` a load is never raised above the written one (only lowered to fit).

Batch: concurrent requests per instance, by Little's law
`batch = load x call latency / tokens` (rounded, at least 1, capped at
`max-batch`; a capped batch keeps its uncapped value in the record as
`capped_from`, so placement can see an instance asked for more concurrency than
the runtime admits). `shared = true` marks ops whose calls can be batched across
concurrent requests on a shared instance: LLM ops on a GPU or hosted, and the
batchable tools (`BATCHABLE_TOOLS`). A CPU LLM (llama.cpp) serves one stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from murakkab.passes.base import PassContext

from murakkab.cost.ops import operating_point
from murakkab.cost.workflow import estimate_workflow
from murakkab.device import parse_device
from murakkab.ir.core import Module, Op, Workflow
from murakkab.ir.rewrite import map_ops
from murakkab.profiles.schema import ModelProfile

NAME = "batching"

# Tools whose implementation takes a batch of inputs in one call.
BATCHABLE_TOOLS = frozenset({"text.embed"})

_LLM_KINDS = ("llm", "composition")
_BISECTIONS = 40


@dataclass(frozen=True)
class BatchingPass:
    """Does: sets `load` and `batch` of LLM ops from their profile's curve; marks `shared` ops.
    Requires: a verified physical or placed module (LLM ops with `model`, `load` and a device).
    Ensures: LLM ops with a profile carry `batch` and a `load` in [first point, saturation].
    """

    name: ClassVar[str] = NAME
    # vLLM schedules up to 256 sequences per step by default (max_num_seqs).
    max_batch: int = 256

    def apply(self, module: Module, ctx: PassContext) -> Module:
        return module.replace(workflows=tuple(self._workflow(w, ctx) for w in module.workflows))

    def _workflow(self, workflow: Workflow, ctx: PassContext) -> Workflow:
        cost = ctx.cost_context()
        estimate = estimate_workflow(workflow, ctx.catalogue, cost, ctx.args.get(workflow.name))
        tokens = {e.name: e.tokens for e in estimate.ops}
        factor = _budget_factor(workflow, ctx, estimate.total.latency_s)
        slo = ctx.slos.get(workflow.name)
        fastest = (
            slo is not None and slo.objective is not None and slo.objective.metric == "latency"
        )

        def rewrite(op: Op) -> Op:
            capability = ctx.catalogue.lookup(op.name)
            if capability is None:
                return op
            if op.name in BATCHABLE_TOOLS or (
                capability.kind in _LLM_KINDS and _shareable(op.device)
            ):
                ctx.decide(NAME, kind="shared", workflow=workflow.name, op=op.result.name)
                op = op.with_attrs(shared=True)
            if capability.kind not in _LLM_KINDS:
                return op
            per_call = tokens.get(op.result.name, cost.assume.output_tokens)
            return self._operating_point(op, workflow.name, per_call, (factor, fastest), ctx)

        return map_ops(workflow, rewrite)

    def _operating_point(
        self,
        op: Op,
        workflow: str,
        tokens: float,
        goal: tuple[float | None, bool],
        ctx: PassContext,
    ) -> Op:
        """`goal`: the budget factor `B / T` (None: keep the load), and whether the
        objective is latency (never raise the load)."""
        factor, fastest = goal
        load = op.attr("load")
        key = profile_key(op)
        profile = ctx.cost_context().profiles.get(key) if key is not None else None
        if not isinstance(load, (int, float)) or isinstance(load, bool):
            why = "no numeric load"
        elif not isinstance(profile, ModelProfile):
            why = f"no model profile {key or 'for this op (no model or device)'}"
        else:
            curve = Curve(profile, max(tokens, 1.0), self.max_batch)
            budget = None if factor is None else curve.latency(float(load)) * factor
            chosen, rejected = curve.choose(float(load), budget, keep_below=fastest)
            ctx.decide(
                NAME,
                kind="operating-point",
                workflow=workflow,
                op=op.result.name,
                profile=profile.key,
                tokens=_round(curve.tokens),
                written_load=load,
                budget_s=None if budget is None else _round(budget),
                chosen=curve.describe(chosen),
                rejected=rejected,
                met=budget is None or curve.latency(chosen) <= budget + 1e-9,
            )
            # A load that does not change keeps its written form (556 stays 556).
            value = load if chosen == float(load) else chosen
            # A CPU model (llama.cpp) serves one stream: its calls queue, never batch.
            batch = 1 if profile.device == "cpu" else curve.batch(chosen)
            return op.with_attrs(load=value, batch=batch)
        ctx.decide(NAME, kind="skipped", workflow=workflow, op=op.result.name, reason=why)
        return op


@dataclass(frozen=True)
class Curve:
    """One op's calls on one model profile: latency and batch as functions of the load."""

    profile: ModelProfile
    tokens: float  # output tokens per call
    max_batch: int

    @property
    def low(self) -> float:
        return min(p.load_tps for p in self.profile.points)

    @property
    def high(self) -> float:
        return max(self.low, self.profile.saturation_tps)

    def clamp(self, load: float) -> float:
        return min(max(load, self.low), self.high)

    def tpot(self, load: float) -> float:
        return operating_point(self.profile, load)[0].tpot_s

    def latency(self, load: float) -> float:
        point = operating_point(self.profile, load)[0]
        return point.ttft_s + self.tokens * point.tpot_s

    def raw_batch(self, load: float) -> float:
        return load * self.latency(load) / self.tokens

    def batch(self, load: float) -> int:
        return min(self.max_batch, max(1, round(self.raw_batch(load))))

    def choose(
        self, written: float, budget: float | None, keep_below: bool = False
    ) -> tuple[float, list[dict[str, Any]]]:
        """The chosen load and the rejected candidates, each with why; `keep_below`:
        never above the written load (the objective is latency)."""
        points = sorted({self.clamp(p.load_tps) for p in self.profile.points})
        kept = self.clamp(written)
        if budget is None:
            why = "no latency SLO: the load is kept"
            return kept, [self.describe(p, why) for p in points if p != kept]
        top = kept if keep_below else self.high
        candidates = set(points) | {kept, self._largest(budget, top)}
        ordered = sorted(candidates, reverse=True)
        chosen = next((c for c in ordered if self._unfit(c, budget, top) is None), self.low)
        rejected = [
            self.describe(c, self._unfit(c, budget, top) or "a larger load fits")
            for c in ordered
            if c != chosen
        ]
        return chosen, rejected

    def _unfit(self, load: float, budget: float, top: float) -> str | None:
        """Why `load` is not taken, or None."""
        if load > top:
            return "minimize latency: never above the written load"
        if self.latency(load) > budget + 1e-9:
            return f"call latency {_round(self.latency(load))} s over the budget"
        return None

    def _largest(self, budget: float, top: float) -> float:
        """The largest load in [low, top] whose call fits `budget` (latency grows with the
        load), rounded down to 0.1 tok/s; `low` when none does."""
        if self.latency(top) <= budget:
            return top
        if self.latency(self.low) > budget:
            return self.low
        below, above = self.low, top
        for _ in range(_BISECTIONS):
            middle = (below + above) / 2
            below, above = (middle, above) if self.latency(middle) <= budget else (below, middle)
        return max(self.low, int(below * 10) / 10)

    def describe(self, load: float, reason: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "load": _round(load),
            "tpot_s": _round(self.tpot(load)),
            "latency_s": _round(self.latency(load)),
            "batch": self.batch(load),
        }
        if self.raw_batch(load) > self.max_batch:
            out["capped_from"] = _round(self.raw_batch(load))
        if reason is not None:
            out["reason"] = reason
        return out


def profile_key(op: Op) -> str | None:
    """The model profile an LLM op runs on: from its device, else its `gpu`/`tp` knobs."""
    model = op.attr("model")
    if not isinstance(model, str):
        return None
    if op.device in ("cpu", "hosted"):
        return f"model/{model}/{op.device}/tp0"
    device = parse_device(op.device)
    if device.gpu_type and device.count is not None:
        return f"model/{model}/{device.gpu_type}/tp{device.count}"
    gpu, tp = op.attr("gpu"), op.attr("tp")
    if isinstance(gpu, str) and isinstance(tp, int) and not isinstance(tp, bool):
        return f"model/{model}/{gpu}/tp{tp}"
    return None


def _budget_factor(workflow: Workflow, ctx: PassContext, predicted: float) -> float | None:
    """`B / T`: the latency SLO over the predicted latency, or None without a numeric SLO."""
    slo = ctx.slos.get(workflow.name)
    bound = slo.bound("latency") if slo is not None else None
    if bound is None or bound.value is None or predicted <= 0:
        reason = "no latency SLO" if bound is None else "no numeric latency bound or prediction"
        ctx.decide(NAME, kind="budget", workflow=workflow.name, factor=None, reason=reason)
        return None
    factor = bound.value / predicted
    ctx.decide(
        NAME,
        kind="budget",
        workflow=workflow.name,
        slo_s=bound.value,
        predicted_s=_round(predicted),
        factor=_round(factor),
    )
    return factor


def _shareable(device: str | None) -> bool:
    return device is not None and (device.startswith("gpu:") or device == "hosted")


def _round(value: float) -> float:
    return float(f"{value:.4g}")

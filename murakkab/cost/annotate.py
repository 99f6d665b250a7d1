"""The `estimate` stage: predictions on every op, and SLO tiers made numbers.

Each op gets `est_latency` (s), `est_cost` (usd), `est_energy` (J),
`est_quality` (where known) and `est_source` (the provenance of the weakest
number behind it) for the configuration as written (pins, else defaults);
the numbers keep four significant digits so IR dumps stay readable.
A request's `quality >= good` becomes a number from the quality tiers of the
reference workflow it matches; a latency tier from the latencies predicted for
every configuration of the workflow's knob domains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from murakkab.catalogue import Catalogue
from murakkab.cost.grid import configurations
from murakkab.cost.ops import CostContext
from murakkab.cost.workflow import OpEstimate, WorkflowEstimate, estimate_workflow
from murakkab.ir.core import AttrValue, Module, Op, Request, operand_values
from murakkab.ir.rewrite import map_ops
from murakkab.profiles.schema import WorkflowProfile
from murakkab.profiles.tiers import latency_tiers, quality_tiers
from murakkab.slo import SloBound

ANNOTATIONS = ("est_cost", "est_energy", "est_latency", "est_quality", "est_source")


@dataclass(frozen=True)
class Annotated:
    module: Module
    estimates: dict[str, WorkflowEstimate]  # by workflow name
    notes: tuple[str, ...]


def resolve_tiers(
    module: Module, catalogue: Catalogue, ctx: CostContext
) -> tuple[Module, tuple[str, ...]]:
    """Requests with their tier bounds (`quality >= good`) made numbers, where a
    profile population allows; notes say what each tier became."""
    if not any(b.tier is not None for r in module.requests for b in r.slo.bounds):
        return module, ()
    estimates = {}
    for workflow in module.workflows:
        request = next((r for r in module.requests if r.workflow == workflow.name), None)
        args = request.args if request else None
        estimates[workflow.name] = estimate_workflow(workflow, catalogue, ctx, args)
    notes: list[str] = []
    requests = tuple(_resolve(r, module, estimates, catalogue, ctx, notes) for r in module.requests)
    return module.replace(requests=requests), tuple(notes)


def annotate_module(module: Module, catalogue: Catalogue, ctx: CostContext) -> Annotated:
    module, notes = resolve_tiers(module, catalogue, ctx)
    estimates: dict[str, WorkflowEstimate] = {}
    workflows = []
    for workflow in module.workflows:
        request = next((r for r in module.requests if r.workflow == workflow.name), None)
        estimate = estimate_workflow(workflow, catalogue, ctx, request.args if request else None)
        estimates[workflow.name] = estimate
        # End-to-end quality belongs to the op that makes the workflow's result.
        results = {v.name for v in operand_values(workflow.result)}
        quality = {name: estimate.total.quality for name in results}
        workflows.append(map_ops(workflow, _annotator({e.name: e for e in estimate.ops}, quality)))
    return Annotated(module.replace(workflows=tuple(workflows)), estimates, notes)


def _annotator(
    estimates: dict[str, OpEstimate], qualities: dict[str, float | None]
) -> Callable[[Op], Op]:
    return lambda op: _annotated(op, estimates.get(op.result.name), qualities.get(op.result.name))


def _annotated(op: Op, estimate: OpEstimate | None, end_to_end: float | None) -> Op:
    if estimate is None:
        return op
    p = estimate.prediction
    quality = p.quality if p.quality is not None else end_to_end
    values: dict[str, AttrValue | None] = {
        "est_latency": _round(p.latency_s),
        "est_cost": _round(p.cost_usd),
        "est_energy": _round(p.energy_j),
        "est_quality": None if quality is None else _round(quality),
        "est_source": p.provenance,
    }
    return op.with_attrs(**values)


def _round(value: float) -> float:
    return float(f"{value:.4g}")


def _resolve(
    request: Request,
    module: Module,
    estimates: dict[str, WorkflowEstimate],
    catalogue: Catalogue,
    ctx: CostContext,
    notes: list[str],
) -> Request:
    estimate = estimates.get(request.workflow)
    workflow = module.workflow(request.workflow)
    bounds = []
    for bound in request.slo.bounds:
        if bound.tier is None or estimate is None or workflow is None:
            bounds.append(bound)
            continue
        if bound.metric == "quality":
            value = _quality_tier(estimate, ctx, bound.tier)
        else:
            latencies = [
                estimate_workflow(w, catalogue, ctx, request.args).total.latency_s
                for w in configurations(workflow)
            ]
            value = latency_tiers(latencies).get(bound.tier) if latencies else None
        if value is None:
            notes.append(
                f"{request.workflow}: '{bound.metric} {bound.op} {bound.tier}' stays a tier"
            )
            bounds.append(bound)
            continue
        notes.append(f"{request.workflow}: {bound.metric} tier '{bound.tier}' is {value:.4g}")
        bounds.append(SloBound(bound.metric, bound.op, _round(value), None, bound.span))
    return request.replace(slo=request.slo.__class__(tuple(bounds), request.slo.objective))


def _quality_tier(estimate: WorkflowEstimate, ctx: CostContext, tier: str) -> float | None:
    if estimate.match is None:
        return None
    population = [
        p
        for p in _all_workflow_profiles(ctx)
        if isinstance(p, WorkflowProfile) and p.workflow == estimate.match.workflow
    ]
    from murakkab.optimize.space import comparable

    population = comparable(population, ctx) or population
    return quality_tiers(population).get(tier) if population else None


def _all_workflow_profiles(ctx: CostContext) -> list[WorkflowProfile]:
    everything = getattr(ctx.profiles, "all", None)
    if everything is None:
        return []
    return [p for p in everything("workflow") if isinstance(p, WorkflowProfile)]

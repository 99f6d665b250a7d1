"""`mkc plan --explain`: the clauses, each clause's candidates with scores and why
each may or may not cover it, and the complete plans the search compared."""

from __future__ import annotations

from murakkab.planner.planning import Planned
from murakkab.planner.search import TOP, Plan, candidates, why_not_cover


def explain(planned: Planned) -> str:
    scores = planned.scores
    lines = [f"planner: {planned.planner}"]
    given = ", ".join(f"{i.name}: {i.type}" for i in planned.plan.inputs) or "none"
    lines.append(f"inputs: {given}")
    lines.append(
        f"clauses ({scores.scorer} similarity: the mean over the doc string and the name):"
    )
    for index, clause in enumerate(scores.clauses):
        lines.append(f'  {index + 1}. "{clause.text}"')
        best = scores.best(index)
        for rank, candidate in enumerate(candidates(scores, index, planned.plan.inputs)):
            signature = candidate.signature
            why = why_not_cover(signature, rank, candidate.similarity, best)
            verdict = "may cover it" if why is None else why
            if not candidate.usable:
                verdict += "; nothing here makes its inputs"
            lines.append(f"     {candidate.similarity:5.2f}  {signature.interface()}")
            lines.append(f"            {signature.kind}, {verdict}")
        if len(scores.signatures) > 2 * TOP:
            lines.append(f"     ... {len(scores.signatures) - 2 * TOP} more below")
    plans = planned.stats.complete or [planned.plan]
    expanded = planned.stats.expanded
    lines.append(f"plans compared (cheapest first; {expanded} partial plans expanded):")
    for number, plan in enumerate(plans, 1):
        chosen = "  <- chosen" if plan is planned.plan else ""
        lines.append(f"  {number}. cost {plan.cost:.3f}: {_flow(plan)}{chosen}")
    return "\n".join(lines) + "\n"


def _flow(plan: Plan) -> str:
    return " ; ".join(
        f"{step.signature.name}({', '.join(step.reads()) or '...'}) [{step.how}]"
        for step in plan.steps
    )

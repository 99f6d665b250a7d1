"""Z3 model -> schedule. Pure.

The model fixes each job's mode, node and start, and each instance's node.
Its start times are any that satisfy the constraints, not the earliest, so
the schedule is then left-shifted: the jobs are placed again in the model's
start order, on the model's nodes, each at the earliest time it fits (sgs.py),
the GPUs jobs may use at once capped at the model's `p_N_T`. A job never
starts later than in the model (the jobs placed before it end no later than
there), so the bounds still hold and no GPU count grows.
"""

from __future__ import annotations

from fractions import Fraction

import z3

from murakkab.placement.encode import Encoding
from murakkab.placement.schedule import Placed, Schedule, assign_gpu_ids
from murakkab.placement.sgs import serial


def number(model: z3.ModelRef, term: z3.ExprRef) -> float:
    value = model.eval(term, model_completion=True)
    if z3.is_int_value(value):
        return float(value.as_long())
    if z3.is_rational_value(value):
        return float(Fraction(value.as_fraction()))
    return float(value.as_decimal(12).rstrip("?"))


def choices(enc: Encoding, model: z3.ModelRef) -> tuple[dict[str, Placed], dict[str, str]]:
    """Mode, node and start of every job, and every instance's node, as the model says."""
    p = enc.problem
    jobs: dict[str, Placed] = {}
    for j, job in enumerate(p.jobs):
        chosen = [(m, n) for m, n, v in enc.of(j) if z3.is_true(model.eval(v, True))]
        m, n = chosen[0] if chosen else (0, -1)
        node = p.nodes[n].name if n >= 0 else ""
        jobs[job.name] = Placed(m, node, max(0.0, number(model, enc.start[j])))
    instances = {}
    for u, inst in enumerate(p.instances):
        at = [n for (uu, n), v in enc.y.items() if uu == u and z3.is_true(model.eval(v, True))]
        instances[inst.key] = p.nodes[at[0]].name if at else p.nodes[0].name
    return jobs, instances


def decode(enc: Encoding, model: z3.ModelRef) -> Schedule:
    p = enc.problem
    jobs, instances = choices(enc, model)
    caps = {
        (p.nodes[n].name, kind): int(number(model, peak)) for (n, kind), peak in enc.peaks.items()
    }
    order = sorted(jobs, key=lambda name: (jobs[name].start, p.index[name]))
    nodes = {name: placed.node for name, placed in jobs.items() if placed.node}
    shifted = serial(
        p,
        {name: placed.mode for name, placed in jobs.items()},
        order,
        caps=caps,
        nodes=nodes,
        instances=instances,
    )
    if shifted is not None:
        return shifted
    raw = Schedule(jobs, {key: (node, ()) for key, node in instances.items()})
    return assign_gpu_ids(p, raw)

"""Problem (+ incumbent) -> Z3 formula. Pure: no solving here.

Variables:
- `x_J_M_N` (Bool): job J runs in mode M on node N, one-hot per job
  (`PbEq`); a mode that holds nothing (a hosted model, a call to a served
  instance) has one `x_J_M` and no node. `y_I_N`: instance I on node N.
- `s_J`, `e_J` (Real): start and end, `e_J = s_J + sum(If(x, duration))`,
  within J's time window: no earlier than the dependency path before it, no
  later than the latency bound less the path after it (shortest modes).
- `o_I_J` (Bool): job I is running when job J starts (`s_I <= s_J < e_I`),
  only for pairs that may meet on a node, have no dependency path and whose
  windows intersect: a tight latency bound leaves few pairs.
- `p_N_T` (Int): the most GPUs of type T on node N jobs use at once.

Constraints, each under a label (the unsat core names labels; `Encoding.why`
says which ops and resources each stands for):
- precedence `s_J >= e_I` and the horizon (unlabelled: structure);
- `latency`: every job ends within the bound (and its window); `energy`,
  `cost`: the sums;
- `cores:N`: event points: at every job's start, the cores of the jobs then
  running on N (a pseudo-Boolean sum over `And(x, o)`) stay within N's;
- `gpus:N:T`: at every job's start, the GPUs of type T jobs then use on N are
  at most `p_N_T`, and `p_N_T` plus the instances' GPUs on N fit N. Counting
  per type, not per GPU, is the aggregation by device type: no symmetry among
  a node's GPUs is left to break, and GPU ids are given after (schedule.py);
- `memory:T`: a mode (or instance) whose model does not fit one GPU of type T
  is ruled out; `fused:G`: the members of a fused group share node and device
  kind, and on a GPU their models fit it together;
- symmetry breaking among nodes of one shape (unlabelled; it keeps a solution
  of every kind): an entity (instances, then jobs) may use the k-th node of a
  shape only if an earlier entity uses the (k-1)-th.

Objectives (`Encoding.objective`): `gpus` = instances' GPUs + sum of `p_N_T`,
`energy`, `cost`, `latency` (the makespan `m`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import z3

from murakkab.placement.bound import windows
from murakkab.placement.problem import Problem, descendants
from murakkab.placement.schedule import Schedule, meets, metrics

Key = tuple[int, int, int]  # job index, mode index, node index (-1: no node)


@dataclass
class Encoding:
    problem: Problem
    constraints: list[tuple[str, z3.BoolRef]] = field(default_factory=list)  # label "" = structure
    # label -> (what it stands for, the ops it concerns)
    why: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    x: dict[Key, z3.BoolRef] = field(default_factory=dict)
    by_job: dict[int, list[tuple[int, int, z3.BoolRef]]] = field(default_factory=dict)
    y: dict[tuple[int, int], z3.BoolRef] = field(default_factory=dict)
    start: list[z3.ArithRef] = field(default_factory=list)
    end: list[z3.ArithRef] = field(default_factory=list)
    peaks: dict[tuple[int, str], z3.ArithRef] = field(default_factory=dict)
    loads: dict[tuple[int, str], list[z3.ArithRef]] = field(default_factory=dict)  # at starts
    terms: dict[str, z3.ArithRef] = field(default_factory=dict)  # objective -> term
    hints: list[tuple[z3.ExprRef, z3.ExprRef]] = field(default_factory=list)  # incumbent
    windows: list[tuple[float, float]] = field(default_factory=list)  # earliest start, latest end

    def add(self, label: str, formula: z3.BoolRef) -> None:
        self.constraints.append((label, formula))

    def of(self, j: int) -> list[tuple[int, int, z3.BoolRef]]:
        """(mode, node, x) of job j; node -1 for a mode that holds nothing."""
        return self.by_job.get(j, [])

    def objective(self, name: str) -> z3.ArithRef:
        return self.terms[name]


def real(value: float) -> z3.ArithRef:
    """A float as an exact Z3 rational (9 significant digits: stable SMT-LIB)."""
    return z3.RealVal(Fraction(f"{value:.9g}"))


def encode(problem: Problem, incumbent: Schedule | None = None) -> Encoding:
    enc = Encoding(problem)
    _modes(enc)
    _instances(enc)
    _time(enc, incumbent)
    _capacity(enc)
    _memory_and_groups(enc)
    _symmetry(enc)
    _objectives(enc)
    if incumbent is not None:
        _hints(enc, incumbent)
    return enc


def _modes(enc: Encoding) -> None:
    p = enc.problem
    for j, job in enumerate(p.jobs):
        options = []
        for m, mode in enumerate(job.modes):
            if mode.holds_nothing:
                options.append(_new(enc, j, m, -1, z3.Bool(f"x_{j}_{m}")))
                continue
            for n, node in enumerate(p.nodes):
                has = node.gpu_count(mode.gpu_type) if mode.gpus else node.cores
                if has > 0:
                    options.append(_new(enc, j, m, n, z3.Bool(f"x_{j}_{m}_{n}")))
        if not options:
            label = f"devices:{job.name}"
            wanted = ", ".join(sorted({m.label for m in job.modes}))
            enc.why[label] = (f"no node has the devices {job.name} runs on ({wanted})", (job.name,))
            enc.add(label, z3.BoolVal(False))
            continue
        enc.add("", z3.PbEq([(v, 1) for v in options], 1))


def _new(enc: Encoding, j: int, m: int, n: int, v: z3.BoolRef) -> z3.BoolRef:
    enc.x[(j, m, n)] = v
    enc.by_job.setdefault(j, []).append((m, n, v))
    return v


def _instances(enc: Encoding) -> None:
    p = enc.problem
    for u, instance in enumerate(p.instances):
        options = []
        for n, node in enumerate(p.nodes):
            if node.gpu_count(instance.gpu_type) > 0:
                enc.y[(u, n)] = z3.Bool(f"y_{u}_{n}")
                options.append(enc.y[(u, n)])
        if not options:
            label = f"devices:{instance.key}"
            enc.why[label] = (f"no node has {instance.gpu_type} GPUs", instance.calls)
            enc.add(label, z3.BoolVal(False))
            continue
        enc.add("", z3.PbEq([(v, 1) for v in options], 1))


def _time(enc: Encoding, incumbent: Schedule | None) -> None:
    p = enc.problem
    horizon = sum(max(m.duration for m in job.modes) for job in p.jobs if job.modes)
    if incumbent is not None and meets(p, metrics(p, incumbent)):
        made = metrics(p, incumbent).makespan
        if p.latency is not None:
            horizon = max(made, p.latency)
        elif p.objective == "latency":
            horizon = made  # an optimum ends no later than the incumbent
    horizon = horizon * (1 + 1e-6) + 1e-3
    enc.windows = windows(p, min(horizon, p.latency) if p.latency is not None else horizon)
    has_successor = {b for job in p.jobs for b in job.after}
    makespan = z3.Real("m")
    enc.terms["latency"] = makespan
    sinks = []
    for j, job in enumerate(p.jobs):
        s, e = z3.Real(f"s_{j}"), z3.Real(f"e_{j}")
        enc.start.append(s)
        enc.end.append(e)
        duration = z3.Sum(
            [z3.If(v, real(job.modes[m].duration), 0) for m, _, v in enc.of(j)] or [z3.RealVal(0)]
        )
        first, last = enc.windows[j]
        enc.add("", z3.And(s >= real(first), e == s + duration, e <= real(horizon), makespan >= e))
        if p.latency is not None:
            enc.add("latency", e <= real(last))  # the bound, less the shortest path after j
        for before in sorted(set(job.after)):
            enc.add("", s >= enc.end[p.index[before]])
        if job.name not in has_successor:
            sinks.append(job.name)
    if p.latency is not None:
        bound = real(p.latency)
        limit = [makespan < bound] if p.strict else [makespan <= bound]
        enc.why["latency"] = (f"latency {'<' if p.strict else '<='} {p.latency:g} s", tuple(sinks))
        enc.add("latency", limit[0])


def _overlaps(enc: Encoding) -> dict[tuple[int, int], z3.BoolRef]:
    """o_I_J for pairs that may share a node's cores or GPUs and may overlap: no
    dependency path between them, and their time windows intersect."""
    p = enc.problem
    below = descendants(p)
    kinds: list[set[tuple[int, str]]] = []
    for j, job in enumerate(p.jobs):
        kinds.append({(n, job.modes[m].gpu_type or "cpu") for m, n, _ in enc.of(j) if n >= 0})
    out: dict[tuple[int, int], z3.BoolRef] = {}
    names = [job.name for job in p.jobs]
    windows = enc.windows
    for i in range(len(p.jobs)):
        for j in range(len(p.jobs)):
            if i == j or not kinds[i] & kinds[j]:
                continue
            if names[j] in below[names[i]] or names[i] in below[names[j]]:
                continue
            if windows[i][0] >= windows[j][1] or windows[j][0] >= windows[i][1]:
                continue
            o = z3.Bool(f"o_{i}_{j}")
            s_i, e_i, s_j = enc.start[i], enc.end[i], enc.start[j]
            enc.add("", o == z3.And(s_i <= s_j, s_j < e_i))
            out[(i, j)] = o
    return out


def _capacity(enc: Encoding) -> None:
    p = enc.problem
    overlap = _overlaps(enc)
    by_node: dict[tuple[int, str], list[tuple[int, int]]] = {}  # (node, kind) -> (job, mode)
    for j, m, n in enc.x:
        if n >= 0:
            by_node.setdefault((n, p.jobs[j].modes[m].gpu_type or "cpu"), []).append((j, m))
    for (n, kind), users in sorted(by_node.items()):
        node = p.nodes[n]
        ops = tuple(sorted({p.jobs[j].name for j, _ in users}, key=p.index.__getitem__))
        if kind == "cpu":
            label = f"cores:{node.name}"
            enc.why[label] = (f"the {node.cores} cores of node '{node.name}'", ops)
        else:
            label = f"gpus:{node.name}:{kind}"
            enc.why[label] = (
                f"the {node.gpu_count(kind)} {kind} GPUs of node '{node.name}'",
                ops + tuple(i.key for i in p.instances if i.gpu_type == kind),
            )
            enc.peaks[(n, kind)] = z3.Int(f"p_{n}_{kind}")
        for j in sorted({j for j, _ in users}):
            terms = []
            for i, m in users:
                amount = p.jobs[i].modes[m].cores if kind == "cpu" else p.jobs[i].modes[m].gpus
                if i == j:
                    terms.append((enc.x[(i, m, n)], amount))
                elif (i, j) in overlap:
                    terms.append((z3.And(enc.x[(i, m, n)], overlap[(i, j)]), amount))
            if kind == "cpu":
                enc.add(label, z3.PbLe(terms, node.cores))
            else:
                load = z3.Sum([z3.If(b, amount, 0) for b, amount in terms])
                enc.loads.setdefault((n, kind), []).append(load)
                enc.add("", load <= enc.peaks[(n, kind)])
        _energetic(enc, n, kind, label, users)
    for n, node in enumerate(p.nodes):
        for kind, count in node.gpus:
            held = [
                z3.If(enc.y[(u, n)], inst.gpus, 0)
                for u, inst in enumerate(p.instances)
                if inst.gpu_type == kind and (u, n) in enc.y
            ]
            peak = enc.peaks.get((n, kind))
            if peak is None and not held:
                continue
            label = f"gpus:{node.name}:{kind}"
            if label not in enc.why:
                calls = tuple(i.key for i in p.instances if i.gpu_type == kind)
                enc.why[label] = (f"the {count} {kind} GPUs of node '{node.name}'", calls)
            used = z3.Sum(held + ([peak] if peak is not None else []))
            if peak is not None:
                enc.add("", peak >= 0)
            enc.add(label, used <= count)


def _energetic(enc: Encoding, n: int, kind: str, label: str, users: list[tuple[int, int]]) -> None:
    """A redundant cut: the work placed on a resource (units x seconds) fits in its
    capacity times the horizon, the latency bound when there is one. It lets the
    solver rule out mode choices before building a schedule."""
    p = enc.problem
    if not enc.windows:
        return
    horizon = max(last for _, last in enc.windows)
    work = []
    for j, m in users:
        mode = p.jobs[j].modes[m]
        work.append(z3.If(enc.x[(j, m, n)], real(mode.duration * (mode.cores or mode.gpus)), 0))
    capacity = p.nodes[n].cores if kind == "cpu" else enc.peaks[(n, kind)]
    enc.add(label, z3.Sum(work) <= capacity * real(horizon))


def _memory_and_groups(enc: Encoding) -> None:
    p = enc.problem
    for (j, m, n), v in sorted(enc.x.items()):
        mode = p.jobs[j].modes[m]
        if n >= 0 and mode.gpus and mode.memory_gb > p.nodes[n].gpu_memory(mode.gpu_type):
            label = f"memory:{mode.gpu_type}"
            what = f"the memory of one {mode.gpu_type} GPU"
            ops = enc.why.get(label, (what, ()))[1]
            enc.why[label] = (what, tuple(dict.fromkeys(ops + (p.jobs[j].name,))))
            enc.add(label, z3.Not(v))
    for (u, n), v in sorted(enc.y.items()):
        inst = p.instances[u]
        if inst.memory_gb > p.nodes[n].gpu_memory(inst.gpu_type):
            label = f"memory:{inst.gpu_type}"
            what = f"the memory of one {inst.gpu_type} GPU"
            ops = enc.why.get(label, (what, ()))[1]
            enc.why[label] = (what, tuple(dict.fromkeys(ops + inst.calls)))
            enc.add(label, z3.Not(v))
    groups: dict[str, list[int]] = {}
    for j, job in enumerate(p.jobs):
        if job.group:
            groups.setdefault(job.group, []).append(j)
    for group, members in sorted(groups.items()):
        if len(members) < 2:
            continue
        label = f"fused:{group}"
        enc.why[label] = (f"fused group '{group}'", tuple(p.jobs[j].name for j in members))
        sides = sorted(
            {p.jobs[j].modes[m].gpu_type or "cpu" for j in members for m, _, _ in enc.of(j)}
        )
        for n in range(len(p.nodes)):
            for side in sides:
                on = [_on(enc, j, n, side) for j in members]
                enc.add(label, z3.And([on[0] == other for other in on[1:]]))
                if side == "cpu":
                    continue
                memory = [
                    z3.If(v, real(p.jobs[j].modes[m].memory_gb), 0)
                    for j in members
                    for m, nn, v in enc.of(j)
                    if nn == n and p.jobs[j].modes[m].gpu_type == side
                ]
                enc.add(label, z3.Sum(memory) <= real(p.nodes[n].gpu_memory(side)))


def _on(enc: Encoding, j: int, n: int, side: str) -> z3.BoolRef:
    modes = enc.problem.jobs[j].modes
    found = [v for m, nn, v in enc.of(j) if nn == n and (modes[m].gpu_type or "cpu") == side]
    return z3.Or(found) if found else z3.BoolVal(False)


def _symmetry(enc: Encoding) -> None:
    p = enc.problem
    shapes: dict[object, list[int]] = {}
    for n, node in enumerate(p.nodes):
        shapes.setdefault(node.shape, []).append(n)
    entities: list[dict[int, z3.BoolRef]] = []
    for u in range(len(p.instances)):
        entities.append({n: v for (uu, n), v in enc.y.items() if uu == u})
    for j in range(len(p.jobs)):
        per_node: dict[int, list[z3.BoolRef]] = {}
        for _, n, v in enc.of(j):
            if n >= 0:
                per_node.setdefault(n, []).append(v)
        entities.append({n: z3.Or(vs) for n, vs in per_node.items()})
    for nodes in sorted(shapes.values()):
        if len(nodes) < 2:
            continue
        for k in range(1, len(nodes)):
            before, here = nodes[k - 1], nodes[k]
            used: z3.BoolRef = z3.BoolVal(False)  # some earlier entity uses `before`
            for e, on in enumerate(entities):
                if here in on:
                    enc.add("", z3.Implies(on[here], used))
                if before in on:
                    prefix = z3.Bool(f"u_{here}_{e}")
                    enc.add("", prefix == z3.Or(used, on[before]))
                    used = prefix


def _objectives(enc: Encoding) -> None:
    p = enc.problem
    enc.terms["energy"] = z3.Sum(
        [z3.If(v, real(p.jobs[j].modes[m].energy), 0) for (j, m, _), v in enc.x.items()]
        or [z3.RealVal(0)]
    )
    enc.terms["cost"] = z3.Sum(
        [z3.If(v, real(p.jobs[j].modes[m].cost), 0) for (j, m, _), v in enc.x.items()]
        or [z3.RealVal(0)]
    )
    enc.terms["gpus"] = z3.Sum([z3.IntVal(p.instance_gpus), *enc.peaks.values()])
    if p.energy is not None:
        enc.why["energy"] = (f"energy <= {p.energy:g} J", tuple(j.name for j in p.jobs))
        enc.add("energy", enc.terms["energy"] <= real(p.energy))
    if p.cost is not None:
        enc.why["cost"] = (f"cost <= {p.cost:g} usd", tuple(j.name for j in p.jobs))
        enc.add("cost", enc.terms["cost"] <= real(p.cost))
    everything = tuple(j.name for j in p.jobs)
    if p.max_gpus is not None:
        enc.why["gpus-held"] = (f"at most {p.max_gpus} GPUs held", everything)
        enc.add("gpus-held", enc.terms["gpus"] <= p.max_gpus)
    if p.min_gpus is not None:
        _exact_peaks(enc)
        enc.why["gpus-held"] = (f"at least {p.min_gpus} GPUs held", everything)
        enc.add("gpus-held", enc.terms["gpus"] >= p.min_gpus)


def _exact_peaks(enc: Encoding) -> None:
    """`p_N_T` equal to the most GPUs in use at once, not only at least it: a
    lower bound on GPUs held must not be met by a count nothing uses."""
    for key, loads in enc.loads.items():
        peak = enc.peaks[key]
        enc.add("", z3.Or(peak == 0, *[load >= peak for load in loads]))


def _hints(enc: Encoding, incumbent: Schedule) -> None:
    """The incumbent as initial values: the solver starts its search from it."""
    p = enc.problem
    nodes = {node.name: n for n, node in enumerate(p.nodes)}
    for j, job in enumerate(p.jobs):
        placed = incumbent.jobs[job.name]
        n = -1 if job.modes[placed.mode].holds_nothing else nodes[placed.node]
        for m, nn, v in enc.of(j):
            enc.hints.append((v, z3.BoolVal(m == placed.mode and nn == n)))
        enc.hints.append((enc.start[j], real(placed.start)))
    for u, inst in enumerate(p.instances):
        node = nodes[incumbent.instances[inst.key][0]]
        for (uu, n), v in enc.y.items():
            if uu == u:
                enc.hints.append((v, z3.BoolVal(n == node)))

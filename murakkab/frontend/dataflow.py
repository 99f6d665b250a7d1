"""Data flow between the statements of a block: which names a statement reads,
and an order that respects it (tasks may be written in any order)."""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from murakkab.frontend import ast


def expr_refs(expr: ast.Expr, direct_only: bool = False) -> Iterator[ast.Ref]:
    """Names an expression reads; `direct_only` skips those inside list literals."""
    if isinstance(expr, ast.Ref):
        yield expr
    elif isinstance(expr, ast.ListExpr) and not direct_only:
        for item in expr.items:
            yield from expr_refs(item)


def free_refs(stmt: ast.Stmt, direct_only: bool = False) -> Iterator[ast.Ref]:
    """Names a statement reads from its enclosing scope."""
    if isinstance(stmt, (ast.ReturnStmt, ast.YieldStmt)):
        yield from expr_refs(stmt.expr, direct_only)
        return
    expr = stmt.expr
    if isinstance(expr, (ast.NamedCall, ast.NlCall)):
        for arg in expr.args:
            yield from expr_refs(arg, direct_only)
        return
    bound = {s.name for s in expr.body if isinstance(s, ast.TaskStmt)}
    if isinstance(expr, ast.RepeatBlock):
        yield from expr_refs(expr.init, direct_only)
        bound.add(expr.var)
    for inner in expr.body:
        yield from (ref for ref in free_refs(inner, direct_only) if ref.name not in bound)


def order_tasks(
    tasks: dict[str, ast.TaskStmt],
) -> tuple[list[ast.TaskStmt], list[list[str]]]:
    """Tasks in dependency order (source order among independent ones), and the
    cycles that keep the rest from being ordered."""
    index = {name: i for i, name in enumerate(tasks)}
    deps = {name: {r.name for r in free_refs(t) if r.name in tasks} for name, t in tasks.items()}
    users: dict[str, list[str]] = {name: [] for name in tasks}
    for name, needed in deps.items():
        for dep in needed:
            users[dep].append(name)
    waiting = {name: len(needed) for name, needed in deps.items()}
    ready = [(index[name], name) for name, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[ast.TaskStmt] = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(tasks[name])
        for user in users[name]:
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, (index[user], user))
    stuck = [name for name in tasks if waiting[name] > 0]
    cycles = _cycles(stuck, deps)
    in_cycle = {name for cycle in cycles for name in cycle}
    # Tasks downstream of a cycle are still checked, after it.
    order += [tasks[name] for name in stuck if name not in in_cycle]
    return order, cycles


def _cycles(stuck: list[str], deps: dict[str, set[str]]) -> list[list[str]]:
    """One representative cycle per group of mutually dependent tasks."""
    remaining = set(stuck)
    cycles: list[list[str]] = []
    for start in stuck:
        if start not in remaining:
            continue
        path: list[str] = []
        node = start
        while node not in path:
            path.append(node)
            nexts = sorted(d for d in deps[node] if d in remaining)
            if not nexts:
                break
            node = nexts[0]
        else:
            cycle = path[path.index(node) :]
            cycles.append(cycle)
            remaining -= set(cycle)
            continue
        remaining.discard(start)
    return cycles

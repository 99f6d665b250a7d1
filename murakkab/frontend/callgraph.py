"""Workflow calls: workflows inline into their callers, so none may call itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from murakkab.diagnostics import DiagnosticBag
from murakkab.frontend import ast
from murakkab.frontend.scope import FileScope, WorkflowSig
from murakkab.source import Span

Call = tuple[str, Span]  # callee key, where it is called
MAX_CALL_DEPTH = 32
MAX_INLINED_TASKS = 200_000


def check_recursion(scopes: dict[str, FileScope], diagnostics: DiagnosticBag) -> None:
    """Report each workflow that reaches itself through calls, with the chain."""
    calls: dict[str, list[Call]] = {}
    tasks: dict[str, int] = {}
    sigs: dict[str, WorkflowSig] = {}
    for scope in scopes.values():
        for sig in scope.workflows.values():
            if sig.unit is not scope.unit:
                continue
            key = _key(sig)
            sigs[key] = sig
            calls[key] = [
                (_key(scope.workflows[call.callee]), call.callee_span)
                for call in _named_calls(sig.definition.body)
                if "." not in call.callee and call.callee in scope.workflows
            ]
            tasks[key] = sum(1 for _ in _tasks(sig.definition.body))
    recursive = False
    for key, sig in sorted(sigs.items()):
        path = _path_back(key, calls)
        if path is None:
            continue
        recursive = True
        names = [sig.definition.name] + [sigs[callee].definition.name for callee, _ in path]
        message = f"workflow '{sig.definition.name}' calls itself: {' -> '.join(names)}"
        diagnostics.error("MK0208", path[0][1], message)
    if recursive:
        return
    depths = _fold(calls, lambda key, callees: 1 + max(callees, default=0))
    sizes = _fold(calls, lambda key, callees: tasks[key] + sum(callees))
    for key in sorted(sigs):
        span = sigs[key].definition.name_span
        name = sigs[key].definition.name
        if depths[key] > MAX_CALL_DEPTH:
            message = f"workflow '{name}' nests calls {depths[key]} deep"
            hint = f"calls may nest {MAX_CALL_DEPTH} deep: each one is inlined into its caller"
            diagnostics.error("MK0105", span, message, hint=hint)
            return
        if sizes[key] > MAX_INLINED_TASKS:
            message = f"workflow '{name}' inlines to {sizes[key]} tasks"
            hint = f"a workflow may inline to at most {MAX_INLINED_TASKS} tasks"
            diagnostics.error("MK0105", span, message, hint=hint)
            return


def _key(sig: WorkflowSig) -> str:
    return f"{sig.unit.name}:{sig.definition.name}"


def _path_back(start: str, calls: dict[str, list[Call]]) -> list[Call] | None:
    """A call path from `start` back to itself, by an iterative depth-first search."""
    stack: list[tuple[str, list[Call]]] = [(start, [])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for callee, span in reversed(calls.get(node, [])):
            step = path + [(callee, span)]
            if callee == start:
                return step
            if callee not in seen:
                seen.add(callee)
                stack.append((callee, step))
    return None


def _fold(calls: dict[str, list[Call]], combine: Callable[[str, list[int]], int]) -> dict[str, int]:
    """A value per workflow from its callees' values (one per call), bottom-up and
    without recursion; the call graph is acyclic here."""
    value: dict[str, int] = {}
    for root in calls:
        stack = [(root, False)]
        while stack:
            node, callees_done = stack.pop()
            if node in value:
                continue
            callees = [callee for callee, _ in calls.get(node, [])]
            if callees_done:
                value[node] = combine(node, [value[c] for c in callees])
                continue
            stack.append((node, True))
            stack.extend((c, False) for c in callees if c not in value)
    return value


def _tasks(body: tuple[ast.Stmt, ...]) -> Iterator[ast.TaskStmt]:
    for stmt in body:
        if isinstance(stmt, ast.TaskStmt):
            yield stmt
            if isinstance(stmt.expr, (ast.ParallelBlock, ast.RepeatBlock)):
                yield from _tasks(stmt.expr.body)


def _named_calls(body: tuple[ast.Stmt, ...]) -> Iterator[ast.NamedCall]:
    for stmt in body:
        if not isinstance(stmt, ast.TaskStmt):
            continue
        if isinstance(stmt.expr, ast.NamedCall):
            yield stmt.expr
        elif isinstance(stmt.expr, (ast.ParallelBlock, ast.RepeatBlock)):
            yield from _named_calls(stmt.expr.body)

"""Checked AST -> logical IR.

Workflow calls are inlined: the optimizer reasons about one end-to-end SLO, so
it sees every op of every sub-workflow. Names inside an inlined workflow or a
block are prefixed with the task that holds them (`%reading.scenes`), which
keeps names unique and readable; every op keeps the span of the source text
that made it, also when that text is in another file.
"""

from __future__ import annotations

from collections import ChainMap

from murakkab.catalogue import Capability
from murakkab.frontend import ast
from murakkab.frontend.check import CheckedProgram, TaskInfo
from murakkab.frontend.dataflow import order_tasks
from murakkab.frontend.scope import WorkflowSig
from murakkab.ir.core import (
    AttrValue,
    Const,
    Domain,
    Level,
    ListOperand,
    Module,
    Op,
    Operand,
    Region,
    Request,
    Value,
    Workflow,
)
from murakkab.ir.types import ListType, join, literal_type

Env = ChainMap[str, Operand]  # chained per block, as in the checker


def lower_program(checked: CheckedProgram) -> Module:
    root = checked.scopes[checked.program.root.name]
    lowering = _Lowering(checked)
    # The file's own workflows, and imported ones that a request runs.
    requested = {r.run.workflow for r in checked.requests}
    workflows = tuple(
        lowering.workflow(sig)
        for name, sig in root.workflows.items()
        if sig.unit is root.unit or name in requested
    )
    requests = tuple(Request(r.run.workflow, r.args, r.slo, r.run.span) for r in checked.requests)
    return Module(Level.LOGICAL, workflows, requests)


class _Lowering:
    def __init__(self, checked: CheckedProgram):
        self.checked = checked
        # Loop knobs tie by name within one workflow; an inlined workflow's knobs
        # are its own, so they are named after the call (`reference.rounds`).
        self.knob_scope = ""

    def info(self, task: ast.TaskStmt) -> TaskInfo:
        return self.checked.tasks[id(task)]

    def workflow(self, sig: WorkflowSig) -> Workflow:
        params = tuple(Value(name, ptype) for name, ptype in sig.params)
        env: Env = ChainMap({p.name: p for p in params})
        ops, result = self.body(sig.definition.body, env, prefix="")
        definition = sig.definition
        return Workflow(
            definition.name, params, sig.result, tuple(ops), result, definition.doc, definition.span
        )

    def body(self, stmts: tuple[ast.Stmt, ...], env: Env, prefix: str) -> tuple[list[Op], Operand]:
        env = env.new_child()
        tasks = {s.name: s for s in stmts if isinstance(s, ast.TaskStmt)}
        order, _ = order_tasks(tasks)
        ops: list[Op] = []
        for task in order:
            env[task.name] = self.task(task, env, prefix, ops)
        exit_stmt = next(s for s in stmts if isinstance(s, (ast.ReturnStmt, ast.YieldStmt)))
        return ops, self.operand(exit_stmt.expr, env)

    def task(self, task: ast.TaskStmt, env: Env, prefix: str, ops: list[Op]) -> Operand:
        info = self.info(task)
        name = prefix + task.name
        expr = task.expr
        if isinstance(info.callee, WorkflowSig):
            assert isinstance(expr, ast.NamedCall)
            return self.inline(info.callee, expr, env, name, ops)
        result = Value(name, info.type)
        attrs, device = _constraints(task)
        if isinstance(expr, ast.ParallelBlock):
            inner, yielded = self.body(expr.body, env, name + ".")
            attrs.update(agents=_domain(expr.domain), knob=self.knob_scope + expr.knob)
            ops.append(
                Op(
                    "flow.parallel",
                    result,
                    (),
                    _sorted(attrs),
                    device,
                    Region((), tuple(inner), yielded),
                    task.span,
                )
            )
        elif isinstance(expr, ast.RepeatBlock):
            carried = Value(f"{name}.{expr.var}", info.type)
            inner, yielded = self.body(expr.body, env.new_child({expr.var: carried}), name + ".")
            attrs.update(rounds=_domain(expr.domain), knob=self.knob_scope + expr.knob)
            region = Region((carried,), tuple(inner), yielded)
            init = self.operand(expr.init, env)
            ops.append(
                Op("flow.repeat", result, (init,), _sorted(attrs), device, region, task.span)
            )
        else:
            operands = tuple(self.operand(arg, env) for arg in expr.args)
            if isinstance(expr, ast.NlCall):
                attrs["description"] = expr.description
                op_name = "nl.task"
            else:
                assert isinstance(info.callee, Capability)
                op_name = info.callee.name
            ops.append(Op(op_name, result, operands, _sorted(attrs), device, None, task.span))
        return result

    def inline(
        self, callee: WorkflowSig, call: ast.NamedCall, env: Env, name: str, ops: list[Op]
    ) -> Operand:
        args = [self.operand(arg, env) for arg in call.args]
        inner_env: Env = ChainMap({pname: arg for (pname, _), arg in zip(callee.params, args)})
        outer_scope, self.knob_scope = self.knob_scope, name + "."
        inner, result = self.body(callee.definition.body, inner_env, name + ".")
        self.knob_scope = outer_scope
        ops.extend(inner)
        return result

    def operand(self, expr: ast.Expr, env: Env) -> Operand:
        if isinstance(expr, ast.Ref):
            return env[expr.name]
        if isinstance(expr, ast.Lit):
            return Const(expr.value, literal_type(expr.value))
        items = tuple(self.operand(item, env) for item in expr.items)
        return ListOperand(items, ListType(join([i.type for i in items])))


def _constraints(task: ast.TaskStmt) -> tuple[dict[str, AttrValue], str | None]:
    attrs: dict[str, AttrValue] = {}
    device: str | None = None
    for clause in task.clauses:
        if isinstance(clause, ast.WithClause):
            for constraint in clause.constraints:
                attrs[constraint.knob] = _domain(constraint.domain)
        elif isinstance(clause, ast.UsingClause):
            attrs[clause.knob] = clause.value.value
        elif isinstance(clause, ast.OnClause):
            device = clause.device if clause.model is None else f"{clause.device}:{clause.model}"
        else:
            attrs["optional"] = True
    return attrs, device


def _domain(domain: ast.Domain) -> AttrValue:
    """Canonical: a set's values sorted and unique; a set of one is that value."""
    values = sorted({_key(lit.value): lit.value for lit in domain.values}.items())
    canonical = tuple(value for _, value in values)
    return Domain(canonical) if len(canonical) > 1 else canonical[0]


def _key(value: object) -> tuple[str, object]:
    """Sort numbers numerically and strings alphabetically, never mixing them."""
    kind = (
        "number"
        if isinstance(value, (int, float)) and not isinstance(value, bool)
        else type(value).__name__
    )
    return (kind, value)


def _sorted(attrs: dict[str, AttrValue]) -> tuple[tuple[str, AttrValue], ...]:
    return tuple(sorted(attrs.items()))

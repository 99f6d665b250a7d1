"""Check a loaded program: names, arity, types, knobs, pins, cycles, usage.

Every problem is collected (several per run), then raised once at the end of
the phase. The result records, per task statement, what it was bound to and
its type, which is all `lower` needs.
"""

from __future__ import annotations

from collections import ChainMap
from dataclasses import dataclass, field

from murakkab.catalogue import DEVICES, GPU_MODELS, Capability
from murakkab.diagnostics import Diagnostic, DiagnosticBag, Severity
from murakkab.frontend import ast
from murakkab.frontend.callgraph import check_recursion
from murakkab.frontend.check_run import CheckedRequest, check_runs
from murakkab.frontend.dataflow import free_refs, order_tasks
from murakkab.frontend.loader import Program
from murakkab.frontend.resolve import (
    did_you_mean,
    format_literal,
    literal_fits,
    resolve_type,
)
from murakkab.frontend.scope import FileScope, WorkflowSig, build_scopes
from murakkab.ir.types import ANY, ListType, Type, is_assignable, join, literal_type
from murakkab.source import Span

Callee = Capability | WorkflowSig | None  # None: a natural-language task


@dataclass(frozen=True)
class TaskInfo:
    callee: Callee
    type: Type


@dataclass
class CheckedProgram:
    program: Program
    scopes: dict[str, FileScope]
    tasks: dict[int, TaskInfo]  # keyed by id() of the TaskStmt; internal only
    requests: list[CheckedRequest]
    warnings: list[Diagnostic] = field(default_factory=list)


def check_program(program: Program) -> CheckedProgram:
    diagnostics = DiagnosticBag()
    scopes = build_scopes(program, diagnostics)
    tasks: dict[int, TaskInfo] = {}
    for scope in scopes.values():
        for sig in scope.workflows.values():
            if sig.unit is scope.unit:
                _WorkflowChecker(scope, sig, tasks, diagnostics).check()
    check_recursion(scopes, diagnostics)
    root = scopes[program.root.name]
    requests = check_runs(program.root.mk, root.workflows, diagnostics)
    diagnostics.raise_if_errors()
    warnings = [d for d in diagnostics.items if d.severity is Severity.WARNING]
    return CheckedProgram(program, scopes, tasks, requests, warnings)


# Nested blocks see their enclosing blocks' names through a chain, not a copy:
# copying would make many blocks quadratic in the size of the workflow.
Env = ChainMap[str, Type]


class _WorkflowChecker:
    def __init__(
        self,
        scope: FileScope,
        sig: WorkflowSig,
        tasks: dict[int, TaskInfo],
        diagnostics: DiagnosticBag,
    ):
        self.scope = scope
        self.sig = sig
        self.tasks = tasks
        self.diagnostics = diagnostics
        self.used: set[str] = set()
        self.declared: list[set[str]] = []  # names declared by each enclosing block
        self.loop_knobs: dict[str, tuple[ast.Domain, tuple[object, ...]]] = {}

    def check(self) -> None:
        definition = self.sig.definition
        env: Env = ChainMap()
        for (name, ptype), param in zip(self.sig.params, definition.params):
            if name in env:
                self.diagnostics.error(
                    "MK0207", param.span, f"parameter '{name}' is declared twice"
                )
            env[name] = ptype
        result = self.block(definition.body, env, top=True)
        if result is not None and not is_assignable(result[0], self.sig.result):
            self.diagnostics.error(
                "MK0203",
                result[1],
                f"workflow '{definition.name}' returns {result[0]} but declares {self.sig.result}",
            )
        for param in definition.params:
            if param.name not in self.used:
                self.diagnostics.warning(
                    "MK0210", param.span, f"parameter '{param.name}' is never used"
                )

    # ---- blocks ----------------------------------------------------------------

    def block(self, body: tuple[ast.Stmt, ...], outer: Env, top: bool) -> tuple[Type, Span] | None:
        """Check a statement list; the type and span of what it returns or yields."""
        env = outer.new_child()
        tasks = self._declare(body, outer)
        self.declared.append(set(tasks))
        order, cyclic = order_tasks(tasks)
        for names in cyclic:
            first = tasks[names[0]]
            chain = " -> ".join(names + [names[0]])
            self.diagnostics.error(
                "MK0208", first.name_span, f"tasks depend on each other in a cycle: {chain}"
            )
            for name in names:
                env[name] = ANY
        for task in order:
            env[task.name] = self.task(task, env)
        for names in cyclic:
            for name in names:
                self.task(tasks[name], env)  # still check it; its type stays `any`
        self._check_optional_uses(body, tasks)
        result = self._exit(body, env, top)
        for task in tasks.values():
            if task.name not in self.used:
                self.diagnostics.warning(
                    "MK0210",
                    task.name_span,
                    f"task '{task.name}' is computed but never used",
                    hint="use it, return it, or delete the task",
                )
        self.declared.pop()
        return result

    def _in_scope(self, name: str, env: Env) -> bool:
        return name in env or any(name in names for names in self.declared)

    def _declare(self, body: tuple[ast.Stmt, ...], outer: Env) -> dict[str, ast.TaskStmt]:
        """The tasks of a block; a name may not repeat one of an enclosing block,
        wherever in that block it is written."""
        tasks: dict[str, ast.TaskStmt] = {}
        for stmt in body:
            if not isinstance(stmt, ast.TaskStmt):
                continue
            if stmt.name in tasks or self._in_scope(stmt.name, outer):
                self.diagnostics.error(
                    "MK0207", stmt.name_span, f"'{stmt.name}' is already defined"
                )
                continue
            tasks[stmt.name] = stmt
        return tasks

    def _exit(self, body: tuple[ast.Stmt, ...], env: Env, top: bool) -> tuple[Type, Span] | None:
        keyword, wrong = ("return", ast.YieldStmt) if top else ("yield", ast.ReturnStmt)
        wanted = ast.ReturnStmt if top else ast.YieldStmt
        for stmt in body:
            if isinstance(stmt, wrong):
                where = "a workflow body" if top else "a parallel or repeat block"
                self.diagnostics.error(
                    "MK0213",
                    stmt.span,
                    f"'{'yield' if top else 'return'}' cannot appear in {where}",
                    hint=f"use '{keyword}'",
                )
        exits = [s for s in body if isinstance(s, wanted)]
        if not exits:
            span = self.sig.definition.name_span
            self.diagnostics.error(
                "MK0213", span, f"missing '{keyword}': say which value is the result"
            )
            return None
        for extra in exits[1:]:
            self.diagnostics.error("MK0213", extra.span, f"more than one '{keyword}'")
        return self.expr(exits[0].expr, env), exits[0].span

    # ---- tasks -----------------------------------------------------------------

    def task(self, task: ast.TaskStmt, env: Env) -> Type:
        expr = task.expr
        callee: Callee = None
        if isinstance(expr, ast.NamedCall):
            callee = self.scope.resolve_callee(expr.callee, expr.callee_span, self.diagnostics)
            result = self.call(expr, callee, env)
        elif isinstance(expr, ast.NlCall):
            for arg in expr.args:
                self.expr(arg, env)
            result = ANY
        elif isinstance(expr, ast.ParallelBlock):
            self._loop_knob(expr.knob, expr.domain)
            body = self.block(expr.body, env, top=False)
            result = ListType(ANY if body is None else body[0])
        else:
            result = self.repeat(expr, env)
        result = self._annotated(task, result)
        self._clauses(task, callee)
        self.tasks[id(task)] = TaskInfo(callee, result)
        return result

    def call(self, expr: ast.NamedCall, callee: Callee, env: Env) -> Type:
        if callee is None:
            for arg in expr.args:
                self.expr(arg, env)
            return ANY
        params = callee.params
        if len(expr.args) != len(params):
            names = ", ".join(f"{n}: {t}" for n, t in params)
            self.diagnostics.error(
                "MK0204",
                expr.span,
                f"'{expr.callee}' takes {len(params)} argument(s), got {len(expr.args)}",
                f"signature: {expr.callee}({names})",
            )
        for index, (arg, (pname, ptype)) in enumerate(zip(expr.args, params), 1):
            self.argument(arg, ptype, env, f"argument {index} ({pname}) of '{expr.callee}'")
        for arg in expr.args[len(params) :]:
            self.expr(arg, env)
        return callee.result

    def repeat(self, expr: ast.RepeatBlock, env: Env) -> Type:
        self._loop_knob(expr.knob, expr.domain)
        init = self.expr(expr.init, env)
        if self._in_scope(expr.var, env):
            self.diagnostics.error("MK0207", expr.var_span, f"'{expr.var}' is already defined")
        body = self.block(expr.body, env.new_child({expr.var: init}), top=False)
        self.used.add(expr.var)
        if body is not None and not is_assignable(body[0], init):
            self.diagnostics.error(
                "MK0203",
                body[1],
                f"each round must yield the type it starts from: {init}, got {body[0]}",
            )
        return init

    def argument(self, arg: ast.Expr, expected: Type, env: Env, what: str) -> None:
        actual = self.expr(arg, env)
        if isinstance(arg, ast.Lit) and literal_fits(arg.value, expected):
            return
        if isinstance(arg, ast.ListExpr) and isinstance(expected, ListType):
            for item in arg.items:
                self.argument(item, expected.element, env, what + " (list element)")
            return
        if not is_assignable(actual, expected):
            self.diagnostics.error("MK0203", arg.span, f"{what} expects {expected}, got {actual}")

    def expr(self, expr: ast.Expr, env: Env) -> Type:
        if isinstance(expr, ast.Lit):
            return literal_type(expr.value)
        if isinstance(expr, ast.ListExpr):
            return ListType(join([self.expr(item, env) for item in expr.items]))
        self.used.add(expr.name)
        if expr.name in env:
            return env[expr.name]
        self.diagnostics.error(
            "MK0201", expr.span, f"unknown name '{expr.name}'", *did_you_mean(expr.name, env)
        )
        return ANY

    def _annotated(self, task: ast.TaskStmt, inferred: Type) -> Type:
        if task.annotation is None:
            return inferred
        declared = resolve_type(task.annotation, self.diagnostics)
        if not is_assignable(inferred, declared):
            self.diagnostics.error(
                "MK0203",
                task.annotation.span,
                f"task '{task.name}' computes {inferred}, not {declared}",
            )
        return declared

    # ---- knobs, pins, optional ---------------------------------------------------

    def _clauses(self, task: ast.TaskStmt, callee: Callee) -> None:
        seen: set[str] = set()
        devices = [c for c in task.clauses if isinstance(c, ast.OnClause)]
        for extra in devices[1:]:
            self.diagnostics.error("MK0212", extra.span, "a task is pinned to one device at most")
        for clause in task.clauses:
            if isinstance(task.expr, (ast.ParallelBlock, ast.RepeatBlock)) or isinstance(
                callee, WorkflowSig
            ):
                self.diagnostics.error(
                    "MK0218",
                    clause.span,
                    "knobs, pins and `optional` apply to tasks bound to a capability",
                    hint="put the constraint on the tasks inside",
                )
                continue
            if isinstance(clause, ast.OptionalClause):
                continue
            if isinstance(clause, ast.OnClause):
                self._device(clause, callee)
                continue
            pairs = (
                [(c.knob, c.domain.values, c.span) for c in clause.constraints]
                if isinstance(clause, ast.WithClause)
                else [(clause.knob, (clause.value,), clause.span)]
            )
            for knob_name, values, span in pairs:
                if knob_name in seen:
                    self.diagnostics.error(
                        "MK0206", span, f"knob '{knob_name}' is constrained twice"
                    )
                seen.add(knob_name)
                if isinstance(callee, Capability):
                    self._knob(callee, knob_name, values, span)

    def _knob(
        self, capability: Capability, name: str, values: tuple[ast.Lit, ...], span: Span
    ) -> None:
        knob = capability.knob(name)
        if knob is None:
            known = [k.name for k in capability.knobs]
            self.diagnostics.error(
                "MK0205",
                span,
                f"'{capability.name}' has no knob '{name}'",
                *did_you_mean(name, known),
                hint="its knobs are " + (", ".join(known) or "none"),
            )
            return
        for lit in values:
            if not knob.admits(lit.value):
                self.diagnostics.error(
                    "MK0206",
                    lit.span,
                    f"{format_literal(lit.value)} is outside the domain of knob '{name}'",
                    f"'{capability.name}' accepts {name} in {knob.describe_domain()}",
                )

    def _device(self, clause: ast.OnClause, callee: Callee) -> None:
        if clause.device not in DEVICES:
            self.diagnostics.error(
                "MK0212",
                clause.span,
                f"unknown device '{clause.device}'",
                hint="write `on cpu` or `on gpu`",
            )
            return
        if clause.model is not None and clause.device != "gpu":
            self.diagnostics.error(
                "MK0212",
                clause.span,
                f"a GPU type goes with `on gpu`, not `on {clause.device}`",
                hint=f'write `on gpu "{clause.model}"`',
            )
        elif clause.model is not None and clause.model not in GPU_MODELS:
            self.diagnostics.error(
                "MK0212",
                clause.span,
                f"unknown GPU type '{clause.model}'",
                hint="GPU types are " + ", ".join(f'"{m}"' for m in GPU_MODELS),
            )
        if isinstance(callee, Capability) and clause.device not in callee.hardware:
            self.diagnostics.error(
                "MK0212",
                clause.span,
                f"'{callee.name}' cannot run on {clause.device}",
                f"it runs on {', '.join(callee.hardware)}",
            )

    def _loop_knob(self, name: str, domain: ast.Domain) -> None:
        values = tuple(lit.value for lit in domain.values)
        for lit in domain.values:
            if isinstance(lit.value, bool) or not isinstance(lit.value, int) or lit.value < 1:
                self.diagnostics.error(
                    "MK0206",
                    lit.span,
                    f"'{name}' counts agents or rounds: {lit.text} is not a positive integer",
                )
        previous = self.loop_knobs.get(name)
        if previous is not None and set(previous[1]) != set(values):
            self.diagnostics.error(
                "MK0216",
                domain.span,
                f"knob '{name}' is used again with a different domain",
                f"first declared at {previous[0].span}",
                hint="one knob name is one choice for the whole workflow; rename one of them",
            )
        self.loop_knobs.setdefault(name, (domain, values))

    def _check_optional_uses(
        self, body: tuple[ast.Stmt, ...], tasks: dict[str, ast.TaskStmt]
    ) -> None:
        optional = {
            name
            for name, t in tasks.items()
            if any(isinstance(c, ast.OptionalClause) for c in t.clauses)
        }
        if not optional:
            return
        for stmt in body:
            for ref in free_refs(stmt, direct_only=True):
                if ref.name in optional:
                    self.diagnostics.error(
                        "MK0211",
                        ref.span,
                        f"optional task '{ref.name}' is used where it cannot be left out",
                        hint="pass it inside a list argument, e.g. [frames, "
                        + ref.name
                        + "], so it can be dropped",
                    )

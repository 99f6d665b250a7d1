"""Fleet workflows from `.mk` files: the reference workflow each one is, and what it admits.

A file is compiled to the lowered IR; its workflow (the one its `run` request
names, else its only workflow) must be an instance of a reference workflow
(cost/shapes.py), because fleet mode prices whole configurations by their
workflow profiles. The configurations it may use are those profiles its ops
admit (knob domains and pins, optimize/shapes.py), and the LLM's `gpu` and `tp`
domains limit which model profiles may serve it.
"""

from __future__ import annotations

from pathlib import Path

from murakkab.cost.config import choose
from murakkab.cost.context import ProfileIndex
from murakkab.cost.ops import CostContext
from murakkab.cost.parts import find_parts
from murakkab.diagnostics import Diagnostic, DiagnosticError
from murakkab.fleet.tiers import served_configurations
from murakkab.fleet.workload import Config, FleetWorkflow, config_of
from murakkab.ir.core import Domain, Literal, Op
from murakkab.optimize.shapes import BINDINGS, admits
from murakkab.profiles.schema import Profile
from murakkab.source import SourceFile, Span

# The ops that carry a reference workflow's model knob are its LLM calls.
LLM_OPS = {name for shape in BINDINGS.values() for name in shape["model"][0]}


def load_workflow(
    path: Path, profiles: list[Profile], sources: dict[str, SourceFile]
) -> FleetWorkflow:
    from murakkab.driver import Compilation, compile_file

    compilation = Compilation(sources=sources)
    compile_file(path, stop_after="lower", compilation=compilation)
    module, program = compilation.module, compilation.program
    assert module is not None and program is not None
    names = [r.workflow for r in module.requests] or [w.name for w in module.workflows]
    workflow = module.workflow(names[0]) if names else None
    if workflow is None:
        raise _error(path, "the file defines no workflow", sources)
    ops = list(workflow.walk())
    catalogue = program.catalogue
    as_written = {
        op.result.name: choose(op, cap) for op in ops if (cap := catalogue.lookup(op.name))
    }
    ctx = CostContext(ProfileIndex(profiles), None, None)  # type: ignore[arg-type]
    parts = find_parts(workflow, as_written, ctx)
    if len(parts) != 1 or parts[0].name != "":
        raise _error(
            path,
            f"workflow {workflow.name!r} is not one of the reference workflows fleet mode plans "
            "(video_qa, code_gen, math_qa)",
            sources,
            workflow.span,
        )
    shape = parts[0].match.workflow
    configs: list[Config] = []
    for profile in sorted(served_configurations(shape, profiles), key=lambda p: p.key):
        if admits(shape, profile.config, ops, catalogue):
            config = config_of(workflow.name, profile)
            if config is not None:
                configs.append(config)
    if not configs:
        raise _error(
            path,
            f"workflow {workflow.name!r} admits no profiled {shape} configuration",
            sources,
            workflow.span,
        )
    llm_ops = [op for op in ops if op.name in LLM_OPS]
    gpus, tps = _allowed(llm_ops, "gpu"), _allowed(llm_ops, "tp")
    return FleetWorkflow(
        workflow.name,
        shape,
        str(path),
        tuple(configs),
        None if gpus is None else frozenset(str(g) for g in gpus),
        None if tps is None else frozenset(t for t in tps if isinstance(t, int)),
    )


def _allowed(ops: list[Op], knob: str) -> set[Literal] | None:
    allowed: set[Literal] | None = None
    for op in ops:
        value = op.attr(knob)
        if value is None:
            continue
        values = set(value.values) if isinstance(value, Domain) else {value}
        allowed = values if allowed is None else allowed & values
    return allowed


def _error(
    path: Path, message: str, sources: dict[str, SourceFile], span: Span | None = None
) -> DiagnosticError:
    where = span if span is not None else Span.point(str(path), 1, 1)
    hint = "write the workflow as examples/video_qa.mk or examples/code_gen_debate.mk do"
    return DiagnosticError([Diagnostic.error("MK0902", where, message, hint=hint)], sources)

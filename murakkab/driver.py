"""The compiler driver: named stages from `.mk` text to IR.

Stages run in order and can be stopped after (`--stop-after`): parse, check,
lower, then the passes of the pipeline (`-p`, default: `passes.PIPELINES`),
then estimate. Placement and emission arrive with issue #5.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from murakkab.cost.annotate import annotate_module, resolve_tiers
from murakkab.cost.context import cost_context
from murakkab.cost.ops import CostContext
from murakkab.cost.workflow import WorkflowEstimate
from murakkab.diagnostics import Diagnostic, DiagnosticBag, DiagnosticError, Severity
from murakkab.frontend.check import CheckedProgram, check_program
from murakkab.frontend.check_run import check_slo
from murakkab.frontend.loader import Program, load_program
from murakkab.frontend.lower import lower_program
from murakkab.frontend.parse import decode_source, parse_cli_slo
from murakkab.ir.core import Module
from murakkab.ir.signatures import check_signatures
from murakkab.ir.verifier import verify_module
from murakkab.passes.base import PassContext
from murakkab.passes.manager import parse_pipeline, run_pipeline
from murakkab.slo import SloSpec
from murakkab.source import SourceFile, Span

FRONT_STAGES = ("parse", "check", "lower")
STAGES = FRONT_STAGES + ("estimate",)  # passes of the pipeline run between lower and estimate

IrObserver = Callable[[str, Module], None]


@dataclass(frozen=True)
class CostOptions:
    """Where predictions come from: `--db`, `--cluster`, `--assume NAME=VALUE`."""

    db: str | None = None
    cluster: str | None = None
    assume: tuple[str, ...] = ()


@dataclass(frozen=True)
class PipelineOptions:
    """The passes between lowering and estimation: `-p`, `--verify-each`."""

    spec: str = "default"
    verify_each: bool = False
    dump_smt: str | None = None  # where the placement pass writes its SMT-LIB problem


@dataclass
class Compilation:
    """What a compile produced so far; `sources` renders its diagnostics."""

    sources: dict[str, SourceFile] = field(default_factory=dict)
    warnings: list[Diagnostic] = field(default_factory=list)
    program: Program | None = None
    checked: CheckedProgram | None = None
    module: Module | None = None
    estimates: dict[str, WorkflowEstimate] = field(default_factory=dict)
    context: CostContext | None = None
    pass_context: PassContext | None = None
    pass_times: list[tuple[str, float]] = field(default_factory=list)
    notes: tuple[str, ...] = ()


def parse_slo_flags(flags: Sequence[str], sources: dict[str, SourceFile]) -> SloSpec:
    """Every `--slo` flag, combined; a later flag overrides an earlier one per metric."""
    combined = SloSpec()
    for index, flag in enumerate(flags):
        name = "--slo" if len(flags) == 1 else f"--slo#{index + 1}"
        source = decode_source(flag.encode("utf-8", "surrogateescape"), name)
        sources[name] = source
        parsed = parse_cli_slo(source)
        diagnostics = DiagnosticBag()
        spec = check_slo(parsed.bounds, parsed.objectives, diagnostics)
        diagnostics.raise_if_errors()
        combined = combined.merged_with(spec)
    return combined


def compile_file(
    path: Path,
    stop_after: str = STAGES[-1],
    slo_flags: Sequence[str] = (),
    observe: IrObserver | None = None,
    compilation: Compilation | None = None,
    cost: CostOptions = CostOptions(),
    pipeline: PipelineOptions = PipelineOptions(),
) -> Compilation:
    """Run the stages up to `stop_after` (a front stage, a pass of the pipeline,
    or estimate); raises DiagnosticError on user errors.

    Pass a `compilation` to keep the sources read so far when an error is raised.
    """
    result = compilation if compilation is not None else Compilation()
    cli_slo = parse_slo_flags(slo_flags, result.sources)
    result.program = load_program(path, result.sources)
    if stop_after == "parse":
        return result
    result.checked = check_program(result.program)
    result.warnings.extend(result.checked.warnings)
    if stop_after == "check":
        return result
    module = lower_program(result.checked)
    _assert_valid(module, result.program)
    module = _apply_cli_slo(module, cli_slo, path, result)
    result.module = module
    if observe is not None:
        observe("lower", module)
    if stop_after == "lower":
        return result
    context = cost_context(cost.db, cost.cluster, cost.assume, result.sources)
    result.context = context
    catalogue = result.program.catalogue
    module, tier_notes = resolve_tiers(module, catalogue, context)
    result.sources["-p"] = SourceFile.of("-p", pipeline.spec)  # for -p diagnostics
    passes = parse_pipeline(pipeline.spec, flag="-p")
    if pipeline.dump_smt and "placement" not in {p.name for p in passes}:
        from murakkab.placement.guards import dump_smt_unused

        raise dump_smt_unused(pipeline.dump_smt)
    result.pass_context = PassContext(catalogue, context, dump_smt=pipeline.dump_smt)
    module = run_pipeline(
        module,
        passes,
        result.pass_context,
        pipeline.verify_each,
        result.pass_times,
        observe,
        stop_after,
    )
    if stop_after in {p.name for p in passes}:
        result.module, result.notes = module, tier_notes
        return result
    annotated = annotate_module(module, catalogue, context)
    result.module, result.estimates, result.notes = (
        annotated.module,
        annotated.estimates,
        tier_notes + annotated.notes,
    )
    if observe is not None:
        observe("estimate", annotated.module)
    return result


def _assert_valid(module: Module, program: Program) -> None:
    """Lowering a checked program must give valid IR; anything else is a bug in mkc."""
    problems = verify_module(module) or check_signatures(module, program.catalogue)
    if problems:
        first = problems[0]
        raise RuntimeError(f"lowering produced invalid IR: {first.span}: {first.message}")


def _apply_cli_slo(module: Module, cli_slo: SloSpec, path: Path, result: Compilation) -> Module:
    """Command-line SLOs override the file's, metric by metric, in every request."""
    if cli_slo.is_empty:
        return module
    if not module.requests:
        span = Span.point(result.program.root.name if result.program else str(path), 1, 1)
        result.warnings.append(
            Diagnostic(
                Severity.WARNING,
                "MK0309",
                span,
                "--slo is ignored: the file has no `run` request",
                hint="add `run WORKFLOW(args...)` to the file",
            )
        )
        return module
    requests = tuple(r.replace(slo=r.slo.merged_with(cli_slo)) for r in module.requests)
    return module.replace(requests=requests)


__all__ = ["STAGES", "Compilation", "DiagnosticError", "compile_file", "parse_slo_flags"]

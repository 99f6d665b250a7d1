"""Module -> the one canonical text of the IR (docs/ir.md).

The layout is fixed so that `print(parse(print(m))) == print(m)` byte for byte
and golden files diff cleanly: two spaces per region level, attributes in the
order `Op` keeps them (sorted), one blank line between items, one final "\\n".
Locations print only with `debuginfo`, so goldens do not churn when a `.mk`
file gains a line.
"""

from __future__ import annotations

from murakkab.frontend.strings import quote
from murakkab.ir.core import (
    AttrValue,
    Const,
    Domain,
    Literal,
    Module,
    Op,
    Operand,
    Region,
    Request,
    Value,
    Workflow,
)
from murakkab.slo import format_spec

INDENT = "  "


def print_module(module: Module, debuginfo: bool = False) -> str:
    """The text of `module`; with `debuginfo`, every op ends with `loc("file":line:col)`."""
    items = [f"level {module.level.value}"]
    items.extend(_workflow(workflow, debuginfo) for workflow in module.workflows)
    if module.requests:
        items.append("\n".join(_request(request) for request in module.requests))
    return "\n\n".join(items) + "\n"


def _workflow(workflow: Workflow, debuginfo: bool) -> str:
    params = ", ".join(f"{_value(p)}: {p.type}" for p in workflow.params)
    lines = [f"workflow @{workflow.name}({params}) -> {workflow.result_type} {{"]
    if workflow.doc is not None:
        lines.append(f"{INDENT}doc {quote(workflow.doc)}")
    lines.extend(_ops(workflow.ops, INDENT, debuginfo))
    lines.append(f"{INDENT}return {_operand(workflow.result)}")
    lines.append("}")
    return "\n".join(lines)


def _ops(ops: tuple[Op, ...], indent: str, debuginfo: bool) -> list[str]:
    lines: list[str] = []
    for op in ops:
        lines.extend(_op(op, indent, debuginfo))
    return lines


def _op(op: Op, indent: str, debuginfo: bool) -> list[str]:
    head = f"{indent}{_value(op.result)} = {op.name}({_op_operands(op)})"
    if op.attrs:
        head += " {" + ", ".join(_attr(name, value) for name, value in op.attrs) + "}"
    if op.device is not None:
        head += f" @{op.device}"
    head += f" : {op.result.type}"
    if debuginfo:
        head += f" loc({quote(op.span.file)}:{op.span.line}:{op.span.column})"
    if op.region is None:
        return [head]
    return [head + " {", *_region(op.region, indent + INDENT, debuginfo), indent + "}"]


def _op_operands(op: Op) -> str:
    """Region arguments bind the leading operands: `flow.repeat(%prev = %init)`."""
    args = op.region.args if op.region is not None else ()
    if len(args) > len(op.operands):
        raise ValueError(f"{op.name}: region arguments without an operand cannot be printed")
    texts = [_operand(operand) for operand in op.operands]
    for index, arg in enumerate(args):
        texts[index] = f"{_value(arg)} = {texts[index]}"
    return ", ".join(texts)


def _region(region: Region, indent: str, debuginfo: bool) -> list[str]:
    return [*_ops(region.ops, indent, debuginfo), f"{indent}yield {_operand(region.result)}"]


def _attr(name: str, value: AttrValue) -> str:
    if isinstance(value, Domain):
        return f"{name} in {{{', '.join(literal(v) for v in value.values)}}}"
    return f"{name} = {literal(value)}"


def _operand(operand: Operand) -> str:
    if isinstance(operand, Value):
        return _value(operand)
    if isinstance(operand, Const):
        return literal(operand.value)
    return "[" + ", ".join(_operand(item) for item in operand.items) + "]"


def _value(value: Value) -> str:
    return "%" + value.name


def literal(value: Literal) -> str:
    """A literal as the IR writes it; `bool` is tested first as it is an `int`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return "[" + ", ".join(literal(item) for item in value) + "]"


def _request(request: Request) -> str:
    args = ", ".join(literal(arg) for arg in request.args)
    spec = format_spec(request.slo)
    return f"run @{request.workflow}({args})" + (f" {spec}" if spec else "")

"""The canonical `.mk` layout behind `mkc fmt`: `format_file(parse(text))`.

Canonical style:

- 4-space indentation; the file ends with exactly one newline.
- One blank line between top-level items; consecutive `import` lines stay together, in source
  order (imports are never reordered: the item order is part of the AST).
- `workflow name(a: text, b: list<video>) -> text {`, the docstring on its own line as the first
  body line, one statement a line, `}`. Capabilities likewise, with `kind`, then one `on` line,
  then the knobs (`knob frames in {1, 5, 10} = 5`, `knob t: number = 0.3`).
- `task name: T = callee(a, [b, c])` or `task name = "nl description"(args)`, then its clauses in
  source order (`with frames in {1, 5, 10}, rounds = 2`, `using model "m"`, `on gpu "a100"`,
  `optional`): on the same line when there is one clause and the line fits in 100 characters,
  otherwise one clause per continuation line indented 4 more spaces. `parallel NAME in {..} {`
  and `repeat NAME in {..} from EXPR as VAR {` open a block; clauses follow its `}`.
- `run wf(args)`, then `slo b1, b2` and `minimize energy` each on a continuation line. Bounds
  print as `latency < 30 s`, `quality >= 64%`, `cost < $2`, `quality >= good`.
- Strings are re-quoted from their decoded value; numbers keep their source text.
- Blank lines between statements and comments in workflow bodies, and between a top-level
  comment and its item, are kept, collapsed to one; none right after a `{` or docstring, right
  before a `}`, inside a capability or between consecutive imports.

Comments: a comment alone on its line stays alone on its line, before the next statement (or the
`}` of its block) at that statement's indentation. A trailing comment, one that follows code on
its line, stays at the end of the output line that prints that code, after two spaces; when two
trailing comments land on one output line, the earlier one moves above it. Comments after the
last item stay at the end. `kind`/`on` declarations and docstrings carry no spans, so comments
beside them count as own-line ones; in a capability, the comments right above the first knob
(or `}`) stay there and any earlier ones go right after the docstring.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

from murakkab.frontend import ast
from murakkab.frontend.strings import quote
from murakkab.source import UNKNOWN_SPAN, Span

INDENT = "    "
MAX_WIDTH = 100


def format_file(mk: ast.MkFile) -> str:
    """The canonical text of `mk`, comments included."""
    printer = _Printer(mk.comments, _code_lines(mk))
    previous: ast.Item | None = None
    for item in mk.items:
        together = isinstance(previous, _IMPORTS) and isinstance(item, _IMPORTS)
        if previous is not None and not together:
            printer.out.append("")
            printer.prev = None
        printer.keep_blanks = not together
        printer.item(item)
        printer.keep_blanks = True
        previous = item
    printer.rest(0)
    return "\n".join(printer.out) + "\n" if printer.out else ""


_IMPORTS = (ast.ImportModule, ast.ImportFile)


@dataclass
class _Line:
    """One output line and the source lines [first, last] it stands for (0: none)."""

    depth: int
    text: str
    first: int = 0
    last: int = 0
    comment_depth: int | None = None  # depth of own-line comments put before it
    blank_ok: bool = True  # whether a source blank line before it is kept


def _line(depth: int, text: str, span: Span, last: int | None = None) -> _Line:
    return _Line(depth, text, span.line, span.end_line if last is None else last)


class _Printer:
    def __init__(self, comments: tuple[ast.Comment, ...], code_lines: set[int]):
        ordered = sorted(comments, key=lambda c: (c.span.line, c.span.column))
        self.queue = deque(ordered)
        self.code_lines = code_lines
        self.out: list[str] = []
        self.prev: int | None = None  # last source line printed, to keep blank lines
        self.keep_blanks = True

    # ---- comments and lines ---------------------------------------------------------

    def group(self, lines: list[_Line]) -> None:
        """Print lines that come from one stretch of source, with the comments inside it."""
        last = max(line.last for line in lines)
        before: list[list[ast.Comment]] = [[] for _ in lines]
        trailing: list[ast.Comment | None] = [None for _ in lines]
        while self.queue and self.queue[0].span.line <= last:
            comment = self.queue.popleft()
            at = comment.span.line
            index = self._owner(lines, at) if at in self.code_lines else None
            if index is None:
                index = next(i for i, line in enumerate(lines) if line.last >= at)
                before[index].append(comment)
                continue
            moved = trailing[index]
            if moved is not None:
                before[index].append(moved)
            trailing[index] = comment
        for index, line in enumerate(lines):
            depth = line.depth if line.comment_depth is None else line.comment_depth
            for comment in sorted(before[index], key=lambda c: (c.span.line, c.span.column)):
                self.comment(comment, depth, blank_ok=index == 0)
            if line.first:
                self._blank(line.first, line.blank_ok and index == 0)
                self.prev = max(self.prev or 0, line.last)
            text = INDENT * line.depth + line.text
            note = trailing[index]
            self.out.append(text if note is None else f"{text}  {_text(note)}")

    @staticmethod
    def _owner(lines: list[_Line], at: int) -> int | None:
        """The last output line whose source lines hold `at`."""
        owners = [i for i, line in enumerate(lines) if line.first and line.first <= at <= line.last]
        return owners[-1] if owners else None

    def comment(self, comment: ast.Comment, depth: int, blank_ok: bool = True) -> None:
        self._blank(comment.span.line, blank_ok)
        self.prev = max(self.prev or 0, comment.span.line)
        self.out.append(INDENT * depth + _text(comment))

    def _blank(self, line: int, allowed: bool) -> None:
        gap = self.prev is not None and line - self.prev > 1
        if gap and allowed and self.keep_blanks and self.out and self.out[-1]:
            self.out.append("")

    def rest(self, depth: int, before: int | None = None) -> None:
        """Print the queued comments above source line `before` (all when None)."""
        while self.queue and (before is None or self.queue[0].span.line < before):
            self.comment(self.queue.popleft(), depth)

    # ---- items ------------------------------------------------------------------------

    def item(self, item: ast.Item) -> None:
        if isinstance(item, ast.ImportModule):
            self.group([_line(0, "import " + ".".join(item.path), item.span)])
        elif isinstance(item, ast.ImportFile):
            self.group([_line(0, "import " + quote(item.path), item.span)])
        elif isinstance(item, ast.WorkflowDef):
            self.workflow(item)
        elif isinstance(item, ast.CapabilityDef):
            self.capability(item)
        else:
            self.run(item)

    def workflow(self, wf: ast.WorkflowDef) -> None:
        header = f"workflow {wf.name}({_params(wf.params)}) -> {_type(wf.result)} {{"
        lines = [_line(0, header, wf.span, wf.result.span.end_line)]
        if wf.doc is not None:
            lines.append(_Line(1, quote(wf.doc)))
        self.group(lines)
        self.body(wf.body, 1)
        self.group([_closing(0, wf.span)])

    def capability(self, cap: ast.CapabilityDef) -> None:
        header = f"capability {cap.name}({_params(cap.params)}) -> {_type(cap.result)} {{"
        lines = [_line(0, header, cap.span, cap.result.span.end_line)]
        if cap.doc is not None:
            lines.append(_Line(1, quote(cap.doc)))
        self.group(lines)
        keep_blanks, self.keep_blanks = self.keep_blanks, False
        # `kind` and `on` lines have no spans: comments far above the first knob go first.
        anchor = cap.knobs[0].span.line if cap.knobs else cap.span.end_line
        self.rest(1, before=self._comment_block_start(anchor))
        if cap.kind is not None:
            self.out.append(f"{INDENT}kind {cap.kind}")
        if cap.hardware:
            self.out.append(f"{INDENT}on {', '.join(cap.hardware)}")
        for knob in cap.knobs:
            self.group([_line(1, _knob(knob), knob.span)])
        self.group([_closing(0, cap.span)])
        self.keep_blanks = keep_blanks

    def _comment_block_start(self, anchor: int) -> int:
        """The first line of the run of own-line comments right above line `anchor`."""
        lines = {c.span.line for c in self.queue if c.span.line not in self.code_lines}
        start = anchor
        while start - 1 in lines:
            start -= 1
        return start

    def run(self, run: ast.RunStmt) -> None:
        header_end = max([run.name_span.end_line] + [a.span.end_line for a in run.args])
        lines = [_line(0, f"run {run.workflow}({_exprs(run.args)})", run.span, header_end)]
        if run.bounds:
            slo = "slo " + ", ".join(format_bound(b) for b in run.bounds)
            lines.append(_line(1, slo, run.bounds[0].span, run.bounds[-1].span.end_line))
        if run.objective is not None:
            objective = run.objective
            lines.append(_line(1, f"{objective.direction} {objective.metric}", objective.span))
        self.group(lines)

    # ---- statements -------------------------------------------------------------------

    def body(self, stmts: tuple[ast.Stmt, ...], depth: int) -> None:
        self.prev = None  # no blank line right after `{` or a docstring
        for stmt in stmts:
            self.stmt(stmt, depth)

    def stmt(self, stmt: ast.Stmt, depth: int) -> None:
        if isinstance(stmt, ast.ReturnStmt):
            self.group([_line(depth, "return " + _expr(stmt.expr), stmt.span)])
        elif isinstance(stmt, ast.YieldStmt):
            self.group([_line(depth, "yield " + _expr(stmt.expr), stmt.span)])
        elif isinstance(stmt.expr, (ast.NamedCall, ast.NlCall)):
            head = _line(depth, _task_head(stmt) + _call(stmt.expr), stmt.span)
            head.last = stmt.expr.span.end_line
            self.group(_with_clauses(head, stmt.clauses))
        else:
            self.block_task(stmt, stmt.expr, depth)

    def block_task(
        self, stmt: ast.TaskStmt, block: ast.ParallelBlock | ast.RepeatBlock, depth: int
    ) -> None:
        opener = f"parallel {block.knob} {_domain(block.domain)}"
        header_end = block.domain.span.end_line
        if isinstance(block, ast.RepeatBlock):
            opener = f"repeat {block.knob} {_domain(block.domain)}"
            opener += f" from {_expr(block.init)} as {block.var}"
            header_end = block.var_span.end_line
        self.group([_line(depth, f"{_task_head(stmt)}{opener} {{", stmt.span, header_end)])
        self.body(block.body, depth + 1)
        self.group(_with_clauses(_closing(depth, block.span), stmt.clauses))


def _closing(depth: int, span: Span) -> _Line:
    return _Line(depth, "}", span.end_line, span.end_line, depth + 1, blank_ok=False)


def _with_clauses(head: _Line, clauses: tuple[ast.Clause, ...]) -> list[_Line]:
    """`head` with its clauses inline (one that fits) or on continuation lines."""
    if not clauses:
        return [head]
    inline = f"{head.text} {_clause(clauses[0])}"
    if len(clauses) == 1 and len(INDENT * head.depth + inline) <= MAX_WIDTH:
        return [dataclasses.replace(head, text=inline, last=clauses[0].span.end_line)]
    return [head] + [_line(head.depth + 1, _clause(c), c.span) for c in clauses]


# ---- text of nodes ---------------------------------------------------------------------


def _text(comment: ast.Comment) -> str:
    return comment.text.rstrip()


def _task_head(stmt: ast.TaskStmt) -> str:
    annotation = "" if stmt.annotation is None else f": {_type(stmt.annotation)}"
    return f"task {stmt.name}{annotation} = "


def _call(call: ast.NamedCall | ast.NlCall) -> str:
    callee = call.callee if isinstance(call, ast.NamedCall) else quote(call.description)
    return f"{callee}({_exprs(call.args)})"


def _clause(clause: ast.Clause) -> str:
    if isinstance(clause, ast.WithClause):
        return "with " + ", ".join(f"{c.knob} {_domain(c.domain)}" for c in clause.constraints)
    if isinstance(clause, ast.UsingClause):
        return f"using {clause.knob} {_lit(clause.value)}"
    if isinstance(clause, ast.OnClause):
        return f"on {clause.device}" + ("" if clause.model is None else " " + quote(clause.model))
    return "optional"


def _domain(domain: ast.Domain) -> str:
    if domain.is_set:
        return "in {" + ", ".join(_lit(v) for v in domain.values) + "}"
    return "= " + _lit(domain.values[0])


def _knob(knob: ast.KnobDecl) -> str:
    text = f"knob {knob.name}"
    if knob.type is not None:
        text += f": {_type(knob.type)}"
    if knob.values is not None:
        text += " in {" + ", ".join(_lit(v) for v in knob.values) + "}"
    if knob.default is not None:
        text += f" = {_lit(knob.default)}"
    return text


def format_bound(bound: ast.SloBoundExpr) -> str:
    if bound.tier is not None:
        value = bound.tier
    else:
        value = ("$" if bound.dollar else "") + (bound.number or "")
        if bound.unit is not None:
            value += bound.unit if bound.unit in ("%", "$") else f" {bound.unit}"
    return f"{bound.metric} {bound.op} {value}"


def _params(params: tuple[ast.Param, ...]) -> str:
    return ", ".join(f"{p.name}: {_type(p.type)}" for p in params)


def _type(type_: ast.TypeExpr) -> str:
    if isinstance(type_, ast.TypeName):
        return type_.name
    if isinstance(type_, ast.ListTypeExpr):
        return f"list<{_type(type_.element)}>"
    return "record {" + ", ".join(f"{name}: {_type(t)}" for name, t in type_.fields) + "}"


def _exprs(exprs: tuple[ast.Expr, ...]) -> str:
    return ", ".join(_expr(e) for e in exprs)


def _expr(expr: ast.Expr) -> str:
    if isinstance(expr, ast.Ref):
        return expr.name
    if isinstance(expr, ast.ListExpr):
        return f"[{_exprs(expr.items)}]"
    return _lit(expr)


def _lit(lit: ast.Lit) -> str:
    if isinstance(lit.value, bool):
        return "true" if lit.value else "false"
    if isinstance(lit.value, str):
        return quote(lit.value)
    return lit.text


# ---- which source lines hold code ---------------------------------------------------


def _code_lines(mk: ast.MkFile) -> set[int]:
    """Lines where some node starts or ends: a comment there follows code (comments run to
    the end of their line), so it is a trailing comment."""
    lines: set[int] = set()
    for span in _spans(mk.items):
        if span != UNKNOWN_SPAN:
            lines.update((span.line, span.end_line))
    return lines


def _spans(node: object) -> Iterator[Span]:
    if isinstance(node, Span):
        yield node
    elif isinstance(node, tuple):
        for child in node:
            yield from _spans(child)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            yield from _spans(getattr(node, f.name))

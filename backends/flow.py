"""What both backends' runs share: flow ops, copy and round labels, argument trees of handles.

An emitted plan calls `run.parallel(count, body, reads, label)` and
`run.repeat(rounds, body, reads, carried, initial, label)` on its run object
(`PlanRun` for the Python plan, `RayRun` for the Ray plan); both inherit them
from `FlowRun`, which builds each copy's and round's label and reads and hands
the copies to `run_copies`: the Python plan runs them on threads, the Ray plan
calls them one after the other (they only submit work, and wait for none).

The values an op function receives may hold handles to results not yet known
(futures, Ray object references), nested in lists, tuples and dicts;
`handles` finds them and `map_leaves` replaces them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

Body = Callable[..., Any]  # body(run, reads, label=...) -> what one copy or round yields


def copy_label(label: str, index: int) -> str:
    """The label of copy `index` of a `flow.parallel` body ("name#i", the trace convention)."""
    return f"{label}#{index}"


def round_label(label: str, index: int) -> str:
    """The label of round `index` of a `flow.repeat` body ("name@r", the trace convention)."""
    return f"{label}@{index}"


class FlowRun:
    """The flow ops of a run: `parallel` and `repeat`, the same for every backend."""

    def parallel(self, count: int, body: Body, reads: dict[str, Any], label: str = "") -> list[Any]:
        """`count` copies of `body`, each given its own copy of `reads`; their yields, in order."""
        copies = [
            functools.partial(body, self, dict(reads), label=copy_label(label, index))
            for index in range(count)
        ]
        return self.run_copies(copies)

    def repeat(
        self,
        rounds: int,
        body: Body,
        reads: dict[str, Any],
        carried: str,
        initial: Any,
        label: str = "",
    ) -> Any:
        """`rounds` rounds of `body`, each given the previous round's value as `carried`."""
        value = initial
        for index in range(rounds):
            value = body(self, {**reads, carried: value}, label=round_label(label, index))
        return value

    def run_copies(self, copies: Sequence[Callable[[], Any]]) -> list[Any]:
        """What each copy returns, in order; by default one after the other."""
        return [copy() for copy in copies]


def leaves(value: Any) -> Iterator[Any]:
    """Every item of `value` that is not a list, tuple or dict (dict values), in order."""
    kind = type(value)
    if kind is list or kind is tuple:
        for item in value:
            yield from leaves(item)
    elif kind is dict:
        for item in value.values():
            yield from leaves(item)
    else:
        yield value


def handles(value: Any, kind: type | tuple[type, ...]) -> list[Any]:
    """The items of type `kind` in `value`, nested in lists, tuples and dicts."""
    return [item for item in leaves(value) if isinstance(item, kind)]


def map_leaves(value: Any, fn: Callable[[Any], Any]) -> Any:
    """`value` with every item that is not a list, tuple or dict replaced by `fn(item)`
    (lists, tuples and dicts are rebuilt; a subclass of them is an item)."""
    kind = type(value)
    if kind is list:
        return [map_leaves(item, fn) for item in value]
    if kind is tuple:
        return tuple(map_leaves(item, fn) for item in value)
    if kind is dict:
        return {key: map_leaves(item, fn) for key, item in value.items()}
    return fn(value)

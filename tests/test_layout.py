"""The repository layout matches what pyproject.toml ships."""

from __future__ import annotations

from pathlib import Path


def test_pyproject_lists_every_package() -> None:
    """A package missing from pyproject's list works in the tree and breaks in the wheel."""
    import tomllib

    root = Path(__file__).resolve().parent.parent
    config = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    declared = set(config["packages"])
    mapped = {path: name for name, path in config["package-dir"].items()}
    found = set()
    for init in root.glob("*/**/__init__.py"):
        folder = init.parent.relative_to(root).as_posix()
        top, _, rest = folder.partition("/")
        if top not in mapped or top == "tests":
            continue
        found.add(mapped[top] + ("." + rest.replace("/", ".") if rest else ""))
    assert found <= declared, f"add to [tool.setuptools] packages: {sorted(found - declared)}"

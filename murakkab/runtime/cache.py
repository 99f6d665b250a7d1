"""The content-addressed cache of step results: a re-run resumes instead of recomputing.

Key: sha256 over the capability, the executor that computed the value (the
entry of the implementation that answered, a fallback's when a fallback did,
or an override's name), the version of its code (`resolve.code_version`: the
module's `VERSION`, else a digest of its file), its knobs except those that
only say how or where it runs (`RESOURCE_KNOBS`), the canonical form of its
argument *values*, and, inside flow ops, the copy and round path of the
execution ("@1#2": round 1 of a `flow.repeat`, copy 2 of a `flow.parallel`
inside it; `invoke.copy_path`). The path is there because copies and rounds
of a body are distinct samples: a sampling executor must give each copy and
round its own answer, even when their arguments are equal; and a resumed run
gives the same executions the same labels, so it finds each one's entry.
Same inputs, same code, same knobs, same path: same key, wherever and
whenever the step ran.

Arguments are keyed by value: JSON data as is; a string or `Path` that names
an existing file also by the file's size and modification time (so an edited
video is not served stale results); bytes, dataclasses and other objects by a
digest of their pickle. An argument that cannot be pickled makes the step
uncacheable (it runs, and is not stored).

Entries live at `cache_dir/ab/cdef...{.json,.pkl}`: JSON when the value
round-trips through JSON unchanged, else pickle. Pickle runs code when loaded,
so a cache directory must be the user's own, like any pickle file. Writes go to
a temporary file in the same folder, then `os.replace`: a reader sees a whole
entry or none, even when the run is killed mid-write (no fsync: a power cut may
lose recent entries, which are then recomputed). Unreadable or corrupt entries
are ignored, and the result is recomputed and stored again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import pickle
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CACHE_FORMAT = 1
# Knobs that say how or where a step runs, not what it computes (plan.py's
# _NOT_KNOBS are already gone from Step.knobs).
RESOURCE_KNOBS = frozenset({"cores", "fanout", "batch", "load", "tp", "gpu"})
_MAX_PATH = 1024


class Uncacheable(Exception):
    """An argument has no canonical form (it cannot be pickled)."""


@dataclass(frozen=True)
class CacheEntry:
    impl: str  # the implementation that computed the value
    value: Any
    executor: str = ""  # the callable that computed it
    # implementations planned before `impl` that could not be loaded then (the
    # reason it answered): once one of them loads, the entry is not reused
    missing: tuple[str, ...] = ()


def cache_key(
    capability: str,
    executor: str,
    knobs: Mapping[str, Any],
    args: tuple[Any, ...],
    copy: str = "",
    version: str = "",
) -> str | None:
    """The step's key, or None when an argument has no canonical form. `copy` is
    the execution's copy and round path ("@1#2"; "" outside flow ops), `version`
    the executor's `code_version`."""
    try:
        seen = {
            "format": CACHE_FORMAT,
            "capability": capability,
            "executor": executor,
            "version": version,
            "knobs": {k: canonical(v) for k, v in knobs.items() if k not in RESOURCE_KNOBS},
            "args": [canonical(a) for a in args],
            "copy": copy,
        }
        text = json.dumps(seen, sort_keys=True, separators=(",", ":"))
    except (Uncacheable, TypeError, ValueError):
        return None
    return hashlib.sha256(text.encode()).hexdigest()


def canonical(value: Any) -> Any:
    """A JSON-able form of `value` that equal values share."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return _file_stamp(value) or value
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: canonical(v) for k, v in value.items()}
    if isinstance(value, os.PathLike):
        path = os.fspath(value)
        return {"__path__": str(path), "file": _file_stamp(str(path))}
    if isinstance(value, (bytes, bytearray)):
        return {"__bytes__": hashlib.sha256(value).hexdigest()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: canonical(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"__dataclass__": type(value).__qualname__, "fields": fields}
    try:
        data = pickle.dumps(value, protocol=5)
    except Exception as error:  # noqa: BLE001 - any object may refuse pickling its own way
        raise Uncacheable(f"{type(value).__name__}: {error}") from None
    return {"__pickle__": type(value).__qualname__, "sha256": hashlib.sha256(data).hexdigest()}


def _file_stamp(text: str) -> dict[str, Any] | None:
    if len(text) > _MAX_PATH or "\n" in text or "\0" in text:
        return None
    try:
        stat = os.stat(text)
    except (OSError, ValueError):
        return None
    if not os.path.isfile(text):
        return None
    return {"__file__": text, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


class ResultCache:
    """Step results under one directory, keyed by `cache_key`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _base(self, key: str) -> Path:
        return self.root / key[:2] / key[2:]

    def get(self, key: str) -> CacheEntry | None:
        base = self._base(key)
        for suffix, decode in ((".json", _from_json), (".pkl", _from_pickle)):
            path = base.with_name(base.name + suffix)
            try:
                data = path.read_bytes()
            except OSError:
                continue
            try:
                return decode(data)
            except Exception as error:  # noqa: BLE001 - corrupt in any way: recompute
                log.warning("ignoring corrupt cache entry %s (%s)", path, error)
        return None

    def put(
        self, key: str, impl: str, value: Any, executor: str = "", missing: tuple[str, ...] = ()
    ) -> bool:
        """Store a result atomically; False when it cannot be serialised or written."""
        record = {"format": CACHE_FORMAT, "impl": impl, "executor": executor, "value": value}
        if missing:
            record["missing"] = list(missing)
        try:
            text = json.dumps(record, allow_nan=False)
            if json.loads(text) != record:
                raise ValueError("does not round-trip")
            data, suffix = text.encode(), ".json"
        except (TypeError, ValueError):
            try:
                data, suffix = pickle.dumps(record, protocol=5), ".pkl"
            except Exception as error:  # noqa: BLE001
                log.warning("not caching %s: %s", impl, error)
                return False
        base = self._base(key)
        try:
            base.parent.mkdir(parents=True, exist_ok=True)
            _write_atomically(base.with_name(base.name + suffix), data)
        except OSError as error:  # a full or read-only disk loses the entry, not the run
            log.warning("not caching %s in %s: %s", impl, self.root, error)
            return False
        return True


def _write_atomically(path: Path, data: bytes) -> None:
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _from_json(data: bytes) -> CacheEntry:
    return _entry(json.loads(data))


def _from_pickle(data: bytes) -> CacheEntry:
    return _entry(pickle.loads(data))  # noqa: S301 - the cache dir is the user's own


def _entry(record: Any) -> CacheEntry:
    if not isinstance(record, dict) or record.get("format") != CACHE_FORMAT:
        raise ValueError("not a cache entry of this format")
    missing = tuple(str(name) for name in record.get("missing", ()))
    executor = str(record.get("executor", ""))
    return CacheEntry(str(record["impl"]), record["value"], executor, missing)

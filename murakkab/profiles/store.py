"""The profile store: measured profiles in an embedded SQLite file, layered over the priors.

Where: `--db PATH`, else `$MKC_PROFILE_DB`, else `$XDG_CACHE_HOME/murakkab/profiles.sqlite3`,
else `~/.cache/murakkab/profiles.sqlite3`. Reading never creates the file.

Safety: every write is one transaction (WAL journal, `BEGIN IMMEDIATE`, a busy
timeout), so a writer killed half-way leaves the profiles committed before it
and none of its own. A file that is not a profile store (not SQLite, corrupt,
another program's database, a newer schema) is reported as MK0711 and never
written to; a store that is locked or cannot be opened is MK0712.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from murakkab.diagnostics import Diagnostic, DiagnosticBag, DiagnosticError
from murakkab.profiles.codec import KINDS, from_data, kind_of, to_data
from murakkab.profiles.priors import FORMAT_NAME, FORMAT_VERSION, read_profile_file, shipped_priors
from murakkab.profiles.schema import Profile
from murakkab.source import SourceFile, Span

T = TypeVar("T")
SCHEMA_VERSION = 1
NOT_A_STORE, UNAVAILABLE = "MK0711", "MK0712"
DEFAULT_TIMEOUT_S = 5.0
TABLES = {"schema_version", "profiles"}
# SQLite result codes that say "try again or elsewhere", not "this file is damaged".
_UNAVAILABLE_CODES = {
    "SQLITE_BUSY",
    "SQLITE_LOCKED",
    "SQLITE_CANTOPEN",
    "SQLITE_READONLY",
    "SQLITE_PERM",
    "SQLITE_IOERR",
    "SQLITE_FULL",
    "SQLITE_AUTH",
}
_SCHEMA = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "CREATE TABLE profiles (key TEXT PRIMARY KEY, kind TEXT NOT NULL, body TEXT NOT NULL)",
    f"INSERT INTO schema_version VALUES ({SCHEMA_VERSION})",
)


def default_store_path() -> Path:
    """`$MKC_PROFILE_DB`, else the user's cache directory."""
    configured = os.environ.get("MKC_PROFILE_DB")
    if configured:
        return Path(configured).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME")
    base = Path(cache) if cache and Path(cache).is_absolute() else Path.home() / ".cache"
    return base / "murakkab" / "profiles.sqlite3"


class Transaction:
    """Profiles written inside one `ProfileStore.transaction()`; all or none are kept."""

    def __init__(self, connection: sqlite3.Connection):
        self._connection = connection

    def put(self, profile: Profile) -> None:
        body = json.dumps(to_data(profile), sort_keys=True)
        self._connection.execute(
            "INSERT OR REPLACE INTO profiles (key, kind, body) VALUES (?, ?, ?)",
            (profile.key, kind_of(profile), body),
        )


class ProfileStore:
    """Measured profiles over the shipped priors: a measured profile replaces the prior
    with the same key."""

    def __init__(
        self, path: Path | None = None, *, timeout_s: float = DEFAULT_TIMEOUT_S, label: str = ""
    ):
        self.path = path if path is not None else default_store_path()
        self.timeout_s = timeout_s
        # Where the path came from, for diagnostics: "--db", "MKC_PROFILE_DB", ...
        self.label = label or ("MKC_PROFILE_DB" if path is None and _env_set() else "profile store")

    # ---- reading -----------------------------------------------------------------------

    def all(self, kind: str | None = None) -> list[Profile]:
        """The layered view, sorted by key: stored profiles, then priors they do not replace."""
        layered = {p.key: p for p in shipped_priors()}
        layered.update((p.key, p) for p in self.stored())
        return [layered[key] for key in sorted(layered) if _is(layered[key], kind)]

    def get(self, key: str) -> Profile | None:
        stored = self._rows("SELECT key, kind, body FROM profiles WHERE key = ?", (key,))
        if stored:
            return stored[0]
        return next((p for p in shipped_priors() if p.key == key), None)

    def stored(self, kind: str | None = None) -> list[Profile]:
        """Only the profiles in the store (measured or imported), sorted by key."""
        rows = self._rows("SELECT key, kind, body FROM profiles ORDER BY key", ())
        return [p for p in rows if _is(p, kind)]

    def export(self, include_priors: bool = False) -> str:
        """A JSON profile file (the format `import_file` reads) of the stored profiles."""
        profiles = self.all() if include_priors else self.stored()
        document: dict[str, object] = {"format": FORMAT_NAME, "version": FORMAT_VERSION}
        for kind in KINDS:
            document[kind] = [to_data(p) for p in profiles if kind_of(p) == kind]
        return json.dumps(document, indent=2) + "\n"

    # ---- writing -----------------------------------------------------------------------

    def put(self, profiles: Iterable[Profile]) -> int:
        """Store profiles in one transaction; returns how many."""
        count = 0
        with self.transaction() as transaction:
            for profile in profiles:
                transaction.put(profile)
                count += 1
        return count

    def import_file(self, path: Path, name: str | None = None) -> list[Profile]:
        """Validate a whole TOML or JSON profile file, then store all of it or nothing."""
        profiles = list(read_profile_file(path, "measured", name).profiles)
        self.put(profiles)
        return profiles

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """`BEGIN IMMEDIATE` ... `COMMIT`; an exception (or a killed process) keeps nothing."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            message = f"the profile store {self.path} cannot be created ({error.strerror})"
            hint = "choose another store with --db PATH"
            raise self._diagnostic(UNAVAILABLE, message, None, hint) from None
        with self._connect() as connection:
            self._sqlite(connection.execute, "PRAGMA journal_mode=WAL")
            self._sqlite(connection.execute, "PRAGMA synchronous=FULL")
            self._sqlite(connection.execute, "BEGIN IMMEDIATE")
            try:
                if not self._tables(connection):
                    for statement in _SCHEMA:
                        connection.execute(statement)
                yield Transaction(connection)
                self._sqlite(connection.execute, "COMMIT")
            except BaseException:
                connection.rollback()
                raise

    # ---- the file ----------------------------------------------------------------------

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        connection = self._sqlite(
            sqlite3.connect, self.path, timeout=self.timeout_s, isolation_level=None
        )
        try:
            self._check(connection)
            yield connection
        except sqlite3.Error as error:
            raise self._error(error) from None
        finally:
            connection.close()

    def _rows(self, query: str, parameters: tuple[str, ...]) -> list[Profile]:
        if not self.path.exists():
            return []
        with self._connect() as connection:
            if not self._tables(connection):
                return []
            rows = self._sqlite(lambda: connection.execute(query, parameters).fetchall())
        return [self._decode(key, kind, body) for key, kind, body in rows]

    def _check(self, connection: sqlite3.Connection) -> None:
        tables = self._tables(connection)
        if tables and tables != TABLES:
            raise self._not_a_store(
                "holds other tables than a profile store's: " + ", ".join(sorted(tables - TABLES))
            )
        if not tables:
            return
        version = connection.execute("SELECT max(version) FROM schema_version").fetchone()[0]
        if version != SCHEMA_VERSION:
            raise self._not_a_store(
                f"has schema version {version}; this mkc reads version {SCHEMA_VERSION}",
                hint="use the mkc that wrote it, or choose another store with --db",
            )

    def _tables(self, connection: sqlite3.Connection) -> set[str]:
        query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        return {row[0] for row in self._sqlite(lambda: connection.execute(query).fetchall())}

    def _decode(self, key: str, kind: str, body: str) -> Profile:
        bag = DiagnosticBag()
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        profile = None
        if kind in KINDS and isinstance(data, dict):
            profile = from_data(kind, data, "measured", lambda _: self._span(), bag)
        if profile is None or profile.key != key:
            raise self._not_a_store(f"has a malformed profile row '{key}'")
        return profile

    # ---- diagnostics -------------------------------------------------------------------

    def _sqlite(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run an sqlite3 call; its errors become diagnostics that name the file."""
        try:
            return call(*args, **kwargs)
        except sqlite3.Error as error:
            raise self._error(error) from None

    def _error(self, error: sqlite3.Error) -> DiagnosticError:
        code = getattr(error, "sqlite_errorname", "")
        if code in _UNAVAILABLE_CODES:
            locked = code in ("SQLITE_BUSY", "SQLITE_LOCKED")
            what = "is locked by another process" if locked else "cannot be opened or written"
            hint = (
                f"retry when the other mkc has finished (waited {self.timeout_s:g} s)"
                if locked
                else "check the path and its permissions, or choose another store with --db PATH"
            )
            return self._diagnostic(
                UNAVAILABLE, f"the profile store {self.path} {what}", error, hint
            )
        return self._not_a_store(f"is not a usable SQLite database ({error})")

    def _not_a_store(self, problem: str, hint: str = "") -> DiagnosticError:
        message = f"the profile store {self.path} {problem}"
        hint = hint or "move the file aside, or choose another store with --db PATH"
        return self._diagnostic(NOT_A_STORE, message, None, hint)

    def _diagnostic(
        self, code: str, message: str, error: sqlite3.Error | None, hint: str
    ) -> DiagnosticError:
        notes = [f"sqlite: {error}"] if error is not None else []
        notes.append("mkc wrote nothing to it: the profiles stored there are untouched")
        diagnostic = Diagnostic.error(code, self._span(), message, *notes, hint=hint)
        return DiagnosticError(
            [diagnostic], {self.label: SourceFile.of(self.label, str(self.path))}
        )

    def _span(self) -> Span:
        return Span(self.label, 1, 1, 1, len(str(self.path)) + 1)


def _is(profile: Profile, kind: str | None) -> bool:
    return kind is None or kind_of(profile) == kind


def _env_set() -> bool:
    return bool(os.environ.get("MKC_PROFILE_DB"))

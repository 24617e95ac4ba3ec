"""The write journal: every genre write, grouped in batches, recorded so that undo is exact.

For each file the journal keeps a snapshot of the old ID3v2 tag (tagger.tags.restore_snapshot:
its header, genre frame(s) at their places, padding), the old genre frame(s) as stored, the old
modification time, the new genres, and the fingerprint of the file genrenet left behind (size,
mtime, SHA-256). The row is committed *before* the new file replaces the old one, in state
`pending`, and marked `written` after. A crash therefore leaves each file either old or new, and a
`pending` row says "either": undo looks at the file (genrenet's content -> restore; already as it
was -> nothing to do; anything else -> refuse).

Undo works file by file: a file restored is `undone`; one that could not be restored (read-only,
disk full, changed since) keeps its state and the reason, and the next undo of that batch tries
it again. A batch counts as undone once every file in it is. A write that changes nothing is not
journaled. Every file's check-and-write (or check-and-restore) holds an exclusive lock beside the
journal, so an undo and an apply in two processes never interleave on one file.

Temporary copies are recorded before they are created; a crash can leave one behind, and the next
write or undo removes those (only those) under the lock.

The journal lives in the user data dir (paths.journal_db), apart from the cache, so clearing the
cache never loses undo. It is never replaced silently: a damaged journal is a JournalError that
says where it is, and nothing is written.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tagger import paths
from tagger.db import transaction
from tagger.errors import FileError, GenrenetError, without_path
from tagger.tags import (
    WriteResult,
    file_sha256,
    read_genre_frame,
    restore_genre_frame,
    restore_snapshot,
    snapshot_matches,
    write_genres,
)
from tagger.text import counted
from tagger.track import Decision, DecisionStatus, Fingerprint

try:
    import fcntl
except ImportError:  # Windows: one process at a time is all we promise there
    fcntl = None

Progress = Callable[[int, int], None]
_WRITABLE = (DecisionStatus.ACCEPTED, DecisionStatus.EDITED)
BUSY_TIMEOUT_S = 30
CHANGED_SINCE_SCAN = "changed since it was scanned"  # the start of that per-file error; the app offers a rescan


def _create_v1(con: sqlite3.Connection) -> None:
    con.execute("""CREATE TABLE IF NOT EXISTS batches (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created_at TEXT NOT NULL,
        description TEXT NOT NULL DEFAULT '',
        undone_at TEXT                  -- set once every file of the batch is undone
    )""")
    con.execute("""CREATE TABLE IF NOT EXISTS entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        batch_id INTEGER NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
        path BLOB NOT NULL,             -- os.fsencode(path): any file name survives
        old_frame BLOB,                 -- TCON frame(s) as stored before the write; NULL = none
        new_genres TEXT NOT NULL,       -- JSON list
        size INTEGER NOT NULL,          -- the file as genrenet left it
        mtime_ns INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('pending', 'written', 'undone')),
        undo_error TEXT
    )""")
    con.execute("CREATE INDEX IF NOT EXISTS entries_batch ON entries(batch_id)")


def _add_snapshots_and_temps(con: sqlite3.Connection) -> None:
    con.execute("ALTER TABLE entries ADD COLUMN old_tag TEXT")  # tags.restore_snapshot; NULL: v1 entry
    con.execute("ALTER TABLE entries ADD COLUMN old_mtime_ns INTEGER")
    con.execute("""CREATE TABLE temps (
        path BLOB PRIMARY KEY,          -- a temporary copy that may exist beside a track
        created_at TEXT NOT NULL
    )""")


# MIGRATIONS[i] upgrades a journal at user_version i to i + 1. Append, never edit.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_create_v1, _add_snapshots_and_temps)


class JournalError(GenrenetError):
    """An undo that cannot start (unknown batch, nothing to undo) or a journal that cannot be used."""


@dataclass(slots=True)
class WriteReport:
    batch_id: int | None  # None when nothing was written (no batch is kept)
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)  # already held exactly these genres
    errors: list[tuple[Path, str]] = field(default_factory=list)
    cancelled: bool = False


@dataclass(slots=True)
class UndoReport:
    batch_id: int
    restored: list[Path] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)  # still to undo: the next undo retries


@dataclass(frozen=True, slots=True)
class BatchInfo:
    id: int
    created_at: str  # ISO 8601, UTC
    description: str
    file_count: int
    undone: bool  # every file of it is undone
    restored: int = 0  # files undone so far

    @property
    def partly_undone(self) -> bool:
        return not self.undone and self.restored > 0


@dataclass(frozen=True, slots=True)
class EntryInfo:
    path: Path
    old_frame: bytes | None
    new_genres: tuple[str, ...]
    state: str  # pending | written | undone
    undo_error: str | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _damaged(db_path: Path, exc: BaseException) -> JournalError:
    return JournalError(
        f"the write journal {db_path} cannot be used ({exc}); nothing was written or undone. "
        "It holds what undo needs: keep a copy of it; moving it aside starts a new journal, "
        "and the writes it recorded can then not be undone")


class Journal:
    """SQLite journal of genre writes; usable from one worker thread at a time (guarded by a lock)."""

    def __init__(self, db_path: Path | None = None) -> None:
        self.db_path = Path(db_path) if db_path is not None else paths.journal_db()
        self._lock = threading.RLock()
        self._file_lock_path = self.db_path.with_name(self.db_path.name + ".lock")
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT_S, check_same_thread=False,
                                        isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise _damaged(self.db_path, exc) from None
        try:
            self._con.execute("PRAGMA foreign_keys = ON")
            self._con.execute("PRAGMA journal_mode = WAL")  # one fsync per commit, readers never blocked
            self._con.execute("PRAGMA synchronous = FULL")  # a committed record survives a power cut
            self._migrate()
        except sqlite3.Error as exc:
            self._con.close()
            raise _damaged(self.db_path, exc) from None

    def _migrate(self) -> None:
        version = self._con.execute("PRAGMA user_version").fetchone()[0]
        if version == 0 and self._con.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'entries'").fetchone():
            version = 1  # a journal from before versioning: the v1 schema
        if version > len(MIGRATIONS):
            raise JournalError(f"the write journal {self.db_path} was written by a newer genrenet "
                               f"(schema {version}); upgrade genrenet to undo those writes")
        for step in range(version, len(MIGRATIONS)):
            with transaction(self._con, self._lock) as con:
                MIGRATIONS[step](con)
                con.execute(f"PRAGMA user_version = {step + 1}")

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """The connection, with database failures turned into a JournalError that says where."""
        try:
            with self._lock:
                yield self._con
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise JournalError(f"the write journal {self.db_path} is busy: another genrenet has held it "
                                   f"for over {BUSY_TIMEOUT_S} s; try again when it is done") from None
            raise _damaged(self.db_path, exc) from None
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.db_path, exc) from None

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        """Held around one file's check-and-write or check-and-restore, across processes."""
        if fcntl is None:
            yield
            return
        fd = os.open(self._file_lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    # ------------------------------------------------------------------------------ writing

    def write_batch(
        self,
        decisions: Sequence[Decision],
        *,
        id3_version: int = 3,
        separator: str | None = None,
        force: bool = False,
        keep_mtime: bool = False,
        description: str = "",
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> WriteReport:
        """Write each accepted/edited decision's genres, journaling the old tag first.

        A file whose fingerprint differs from `decision.expected` (changed since the scan) is a
        per-file error unless `force`. Rejected or pending decisions are skipped; a file that
        already holds exactly these genres is left alone and not journaled. Errors are collected
        and the batch goes on; `cancel` is checked between files.
        """
        if id3_version not in (3, 4):
            raise ValueError(f"id3_version must be 3 or 4, not {id3_version!r}")
        self.remove_leftover_temps()
        with self._db() as con:
            batch_id = _insert(con, "INSERT INTO batches (created_at, description) VALUES (?, ?)",
                               (_now(), description))
        report = WriteReport(batch_id)
        seen: set[str] = set()
        total = len(decisions)
        for done, decision in enumerate(decisions, 1):
            if cancel is not None and cancel.is_set():
                report.cancelled = True
                break
            path = Path(decision.path)
            if decision.status in _WRITABLE:
                with self._file_lock():
                    outcome = self._write_one(batch_id, decision, path, seen, id3_version, separator, force,
                                              keep_mtime)
                if outcome is True:
                    report.written.append(path)
                elif outcome is False:
                    report.unchanged.append(path)
                else:
                    report.errors.append((path, without_path(outcome, path)))
            if progress is not None:
                progress(done, total)
        if not report.written:
            with self._db() as con:
                con.execute("DELETE FROM batches WHERE id = ?", (batch_id,))
            report.batch_id = None
        return report

    def _write_one(self, batch_id: int, decision: Decision, path: Path, seen: set[str], id3_version: int,
                   separator: str | None, force: bool, keep_mtime: bool) -> bool | str:
        """Write one file: True written, False already so (not journaled), else the error."""
        key = os.path.realpath(path)
        if key in seen:
            return f"{path}: appears twice in this batch; written once"
        if decision.expected is None and not force:
            return f"{path}: genrenet has not read this file yet; scan it first (or force the write)"
        if not force:
            try:
                now = Fingerprint.of(path)
            except FileNotFoundError:
                return f"{path}: file not found"
            except OSError as exc:
                return f"{path}: {exc.strerror or exc}"
            if now != decision.expected:
                return f"{path}: {CHANGED_SINCE_SCAN}; rescan it, or force the write"
        entry: list[int] = []
        temps: list[Path] = []

        def record(result: WriteResult) -> None:
            if not result.changed:
                return
            with self._db() as con:
                entry.append(_insert(
                    con,
                    "INSERT INTO entries (batch_id, path, old_frame, old_tag, old_mtime_ns, new_genres, size,"
                    " mtime_ns, sha256, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
                    (batch_id, os.fsencode(path.absolute()), result.old_frame, result.snapshot,
                     result.old_mtime_ns, json.dumps(list(decision.genres), ensure_ascii=False),
                     result.size, result.mtime_ns, result.sha256),
                ))

        try:
            result = write_genres(path, decision.genres, id3_version=id3_version, separator=separator,
                                  keep_mtime=keep_mtime, before_replace=record,
                                  on_temp=lambda tmp: self._note_temp(tmp, temps))
        except (FileError, ValueError) as exc:
            with self._db() as con:
                if entry:  # recorded, but the replace did not happen: the file is old
                    con.execute("DELETE FROM entries WHERE id = ?", (entry[0],))
                self._forget_temps(con, temps)
            return str(exc) if isinstance(exc, FileError) else f"{path}: {exc}"
        with self._db() as con, transaction(con, self._lock):
            if entry:
                con.execute("UPDATE entries SET state = 'written' WHERE id = ?", (entry[0],))
            self._forget_temps(con, temps)
        seen.add(key)
        return result.changed

    def _note_temp(self, tmp: Path, temps: list[Path]) -> None:
        with self._db() as con:
            con.execute("INSERT OR REPLACE INTO temps (path, created_at) VALUES (?, ?)", (os.fsencode(tmp), _now()))
        temps.append(tmp)

    @staticmethod
    def _forget_temps(con: sqlite3.Connection, temps: list[Path]) -> None:
        con.executemany("DELETE FROM temps WHERE path = ?", ((os.fsencode(t),) for t in temps))

    def leftover_temps(self) -> list[Path]:
        """Temporary copies an interrupted write left beside tracks (they exist on disk now)."""
        with self._db() as con:
            rows = con.execute("SELECT path FROM temps").fetchall()
        return [p for p in (Path(os.fsdecode(r[0])) for r in rows) if os.path.lexists(p)]

    def remove_leftover_temps(self) -> list[Path]:
        """Delete the temporary copies this journal's writes left behind, and only those."""
        removed: list[Path] = []
        with self._file_lock():
            with self._db() as con:
                rows = [Path(os.fsdecode(r[0])) for r in con.execute("SELECT path FROM temps").fetchall()]
            gone = []
            for tmp in rows:
                try:
                    tmp.unlink()
                    removed.append(tmp)
                except FileNotFoundError:
                    pass
                except OSError:
                    continue  # an unplugged drive: try again next time
                gone.append(tmp)
            with self._db() as con:
                self._forget_temps(con, gone)
        return removed

    # ------------------------------------------------------------------------------ undo

    def undo(self, batch_id: int | None = None, *, progress: Progress | None = None) -> UndoReport:
        """Restore the exact old tags of one batch (default: the newest not fully undone).

        Files changed since genrenet wrote them are left alone and reported; so is any file that
        could not be restored, and the next undo of the batch tries it again. Raises JournalError
        when there is nothing to undo, the batch is unknown, or it is already undone.
        """
        self.remove_leftover_temps()
        with self._db() as con:
            if batch_id is None:
                row = con.execute(
                    "SELECT id, undone_at FROM batches WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1").fetchone()
                if row is None:
                    raise JournalError("nothing to undo")
            else:
                row = con.execute("SELECT id, undone_at FROM batches WHERE id = ?", (batch_id,)).fetchone()
                if row is None:
                    raise JournalError(f"no batch {batch_id} in the journal")
                if row[1] is not None:
                    raise JournalError(f"batch {batch_id} was already undone ({row[1]})")
            batch_id = row[0]
            entries = con.execute(
                "SELECT id, path, old_frame, old_tag, old_mtime_ns, size, sha256, state FROM entries"
                " WHERE batch_id = ? AND state != 'undone' ORDER BY id DESC", (batch_id,)).fetchall()
        report = UndoReport(batch_id)
        for done, (entry_id, raw_path, old_frame, old_tag, old_mtime, size, sha, state) in enumerate(entries, 1):
            path = Path(os.fsdecode(raw_path))
            with self._file_lock():
                error = self._undo_one(path, old_frame, old_tag, old_mtime, size, sha, state)
                with self._db() as con:
                    if error is None:
                        con.execute("UPDATE entries SET state = 'undone', undo_error = NULL WHERE id = ?",
                                    (entry_id,))
                    else:
                        con.execute("UPDATE entries SET undo_error = ? WHERE id = ?", (error, entry_id))
            if error is None:
                report.restored.append(path)
            else:
                report.errors.append((path, without_path(error, path)))
            if progress is not None:
                progress(done, len(entries))
        with self._db() as con:
            con.execute("UPDATE batches SET undone_at = ? WHERE id = ? AND NOT EXISTS "
                        "(SELECT 1 FROM entries WHERE batch_id = ? AND state != 'undone')",
                        (_now(), batch_id, batch_id))
        report.restored.reverse()  # in the order the files were written
        report.errors.reverse()
        return report

    def _undo_one(self, path: Path, old_frame: bytes | None, old_tag: str | None, old_mtime: int | None,
                  size: int, sha: str, state: str) -> str | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return f"{path}: file not found; not restored"
        except OSError as exc:
            return f"{path}: {exc.strerror or exc}; not restored"
        try:
            is_ours = st.st_size == size and file_sha256(path) == sha
            if not is_ours:
                if self._already_restored(path, old_frame, old_tag, state):
                    return None  # never replaced (a crash), or restored by an undo that died before noting it
                return f"{path}: changed since genrenet wrote it; not restored"
            if old_tag is None:  # a journal entry from before snapshots: the genre frame alone
                restore_genre_frame(path, old_frame)
                return None
            temps: list[Path] = []
            try:
                restore_snapshot(path, old_tag, mtime_ns=old_mtime, on_temp=lambda tmp: self._note_temp(tmp, temps))
            finally:
                with self._db() as con:
                    self._forget_temps(con, [t for t in temps if not os.path.lexists(t)])
        except (FileError, OSError) as exc:
            return str(exc)
        return None

    @staticmethod
    def _already_restored(path: Path, old_frame: bytes | None, old_tag: str | None, state: str) -> bool:
        if old_tag is not None:
            return snapshot_matches(path, old_tag)
        return state == "pending" and read_genre_frame(path) == old_frame

    def undo_all(self) -> list[UndoReport]:
        """Undo every batch not yet fully undone, newest first, each once."""
        with self._db() as con:
            ids = [r[0] for r in con.execute("SELECT id FROM batches WHERE undone_at IS NULL ORDER BY id DESC")]
        return [self.undo(batch_id) for batch_id in ids]

    # ------------------------------------------------------------------------------ listing

    def history(self) -> list[BatchInfo]:
        """Every batch, newest first."""
        with self._db() as con:
            rows = con.execute(
                "SELECT b.id, b.created_at, b.description, COUNT(e.id), b.undone_at IS NOT NULL,"
                " COALESCE(SUM(e.state = 'undone'), 0)"
                " FROM batches b LEFT JOIN entries e ON e.batch_id = b.id"
                " GROUP BY b.id ORDER BY b.id DESC").fetchall()
        return [BatchInfo(r[0], r[1], r[2], r[3], bool(r[4]), r[5]) for r in rows]

    def files(self, batch_id: int) -> list[EntryInfo]:
        """The files of one batch, in the order they were written."""
        with self._db() as con:
            rows = con.execute(
                "SELECT path, old_frame, new_genres, state, undo_error FROM entries WHERE batch_id = ? ORDER BY id",
                (batch_id,)).fetchall()
        return [EntryInfo(Path(os.fsdecode(r[0])), r[1], tuple(json.loads(r[2])), r[3], r[4]) for r in rows]

    def check(self) -> list[str]:
        """Problems with the journal, in words (empty: healthy): SQLite's integrity check, files
        an undo could not restore yet, and temporary copies left by an interrupted write."""
        problems: list[str] = []
        with self._db() as con:
            result = [r[0] for r in con.execute("PRAGMA integrity_check")]
            waiting = con.execute("SELECT COUNT(*) FROM entries e JOIN batches b ON b.id = e.batch_id"
                                  " WHERE e.state != 'undone' AND e.undo_error IS NOT NULL").fetchone()[0]
        if result != ["ok"]:
            problems.append(f"{self.db_path}: SQLite integrity check failed: {'; '.join(result[:5])}")
        if waiting:
            problems.append(f"{counted(waiting, 'file')} could not be restored by an undo yet "
                            "(genrenet undo retries them; genrenet history lists the batches)")
        temps = self.leftover_temps()
        if temps:
            problems.append(f"{len(temps)} temporary cop{'ies' if len(temps) != 1 else 'y'} left by an interrupted "
                            f"write (the next write or undo removes them), e.g. {temps[0]}")
        return problems


def _insert(con: sqlite3.Connection, sql: str, params: tuple) -> int:
    return int(con.execute(sql, params).lastrowid)

"""The write journal: every genre write, grouped in batches, recorded so that undo is exact.

For each file the journal keeps the old genre frame(s) exactly as stored (NULL = there was no
genre frame), the new genres, and the fingerprint of the file genrenet left behind (size, mtime,
SHA-256). The row is committed *before* the new file replaces the old one, in state `pending`, and
marked `written` after. A crash therefore leaves each file either old or new, and a `pending` row
says "either": undo looks at the file (new content -> restore; old frame still there -> nothing to
do; anything else -> refuse).

Undo refuses a file whose content is not what genrenet wrote (size and SHA-256 compared, so an
edit by a tool that preserves the modification time is caught too). A batch can be undone once.
The journal lives in the user data dir (paths.journal_db), apart from the cache, so clearing the
cache never loses undo.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tagger import paths
from tagger.errors import FileError, GenrenetError, without_path
from tagger.tags import (
    WriteResult,
    file_sha256,
    read_genre_frame,
    restore_genre_frame,
    write_genres,
)
from tagger.track import Decision, DecisionStatus, Fingerprint

Progress = Callable[[int, int], None]
_WRITABLE = (DecisionStatus.ACCEPTED, DecisionStatus.EDITED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    undone_at TEXT
);
CREATE TABLE IF NOT EXISTS entries (
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
);
CREATE INDEX IF NOT EXISTS entries_batch ON entries(batch_id);
"""


class JournalError(GenrenetError):
    """An undo that cannot start: unknown batch, already undone, nothing to undo."""


@dataclass(slots=True)
class WriteReport:
    batch_id: int | None  # None when nothing was written (no batch is kept)
    written: list[Path] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)
    cancelled: bool = False


@dataclass(slots=True)
class UndoReport:
    batch_id: int
    restored: list[Path] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BatchInfo:
    id: int
    created_at: str  # ISO 8601, UTC
    description: str
    file_count: int
    undone: bool


@dataclass(frozen=True, slots=True)
class EntryInfo:
    path: Path
    old_frame: bytes | None
    new_genres: tuple[str, ...]
    state: str  # pending | written | undone
    undo_error: str | None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Journal:
    """SQLite journal of genre writes; usable from one worker thread at a time (guarded by a lock)."""

    def __init__(self, db_path: Path | None = None) -> None:
        self.db_path = Path(db_path) if db_path is not None else paths.journal_db()
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._con = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
        self._con.execute("PRAGMA foreign_keys = ON")
        self._con.execute("PRAGMA journal_mode = WAL")  # one fsync per commit, readers never blocked
        self._con.execute("PRAGMA synchronous = FULL")  # a committed record survives a power cut
        self._con.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------ writing

    def write_batch(
        self,
        decisions: Sequence[Decision],
        *,
        id3_version: int = 3,
        separator: str | None = None,
        force: bool = False,
        description: str = "",
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
    ) -> WriteReport:
        """Write each accepted/edited decision's genres, journaling the old frame first.

        A file whose fingerprint differs from `decision.expected` (changed since the scan) is a
        per-file error unless `force`. Rejected or pending decisions are skipped. Errors are
        collected and the batch goes on; `cancel` is checked between files.
        """
        if id3_version not in (3, 4):
            raise ValueError(f"id3_version must be 3 or 4, not {id3_version!r}")
        with self._lock:
            batch_id = self._insert("INSERT INTO batches (created_at, description) VALUES (?, ?)",
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
                error = self._write_one(batch_id, decision, path, seen, id3_version, separator, force)
                if error is None:
                    report.written.append(path)
                else:
                    report.errors.append((path, without_path(error, path)))
            if progress is not None:
                progress(done, total)
        if not report.written:
            with self._lock:
                self._con.execute("DELETE FROM batches WHERE id = ?", (batch_id,))
            report.batch_id = None
        return report

    def _write_one(self, batch_id: int, decision: Decision, path: Path, seen: set[str],
                   id3_version: int, separator: str | None, force: bool) -> str | None:
        """Write one file; returns None on success, else the per-file error message."""
        key = os.path.realpath(path)
        if key in seen:
            return f"{path}: appears twice in this batch; written once"
        if decision.expected is not None and not force:
            try:
                now = Fingerprint.of(path)
            except FileNotFoundError:
                return f"{path}: file not found"
            except OSError as exc:
                return f"{path}: {exc.strerror or exc}"
            if now != decision.expected:
                return (f"{path}: changed since it was scanned (size {decision.expected.size} -> {now.size}, "
                        f"modified time differs: {now.mtime_ns != decision.expected.mtime_ns}); "
                        "rescan it, or force the write")
        entry: list[int] = []

        def record(result: WriteResult) -> None:
            with self._lock:
                entry.append(self._insert(
                    "INSERT INTO entries (batch_id, path, old_frame, new_genres, size, mtime_ns, sha256, state)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
                    (batch_id, os.fsencode(path.absolute()), result.old_frame, json.dumps(list(decision.genres)),
                     result.size, result.mtime_ns, result.sha256),
                ))

        try:
            write_genres(path, decision.genres, id3_version=id3_version, separator=separator,
                         before_replace=record)
        except (FileError, ValueError) as exc:
            if entry:  # recorded, but the replace did not happen: the file is old
                with self._lock:
                    self._con.execute("DELETE FROM entries WHERE id = ?", (entry[0],))
            return str(exc) if isinstance(exc, FileError) else f"{path}: {exc}"

        with self._lock:
            self._con.execute("UPDATE entries SET state = 'written' WHERE id = ?", (entry[0],))
        seen.add(key)
        return None

    # ------------------------------------------------------------------------------ undo

    def undo(self, batch_id: int | None = None, *, progress: Progress | None = None) -> UndoReport:
        """Restore the exact old genre frames of one batch (default: the last not yet undone).

        Files changed since genrenet wrote them are left alone and reported. Raises JournalError
        when there is nothing to undo, the batch is unknown, or it was already undone.
        """
        with self._lock:
            if batch_id is None:
                row = self._con.execute(
                    "SELECT id, undone_at FROM batches WHERE undone_at IS NULL ORDER BY id DESC LIMIT 1").fetchone()
                if row is None:
                    raise JournalError("nothing to undo")
            else:
                row = self._con.execute("SELECT id, undone_at FROM batches WHERE id = ?", (batch_id,)).fetchone()
                if row is None:
                    raise JournalError(f"no batch {batch_id} in the journal")
                if row[1] is not None:
                    raise JournalError(f"batch {batch_id} was already undone ({row[1]})")
            batch_id = row[0]
            entries = self._con.execute(
                "SELECT id, path, old_frame, size, sha256, state FROM entries"
                " WHERE batch_id = ? AND state != 'undone' ORDER BY id DESC", (batch_id,)).fetchall()
        report = UndoReport(batch_id)
        for done, (entry_id, raw_path, old_frame, size, sha, state) in enumerate(entries, 1):
            path = Path(os.fsdecode(raw_path))
            error = self._undo_one(path, old_frame, size, sha, state)
            with self._lock:
                if error is None:
                    self._con.execute("UPDATE entries SET state = 'undone', undo_error = NULL WHERE id = ?",
                                      (entry_id,))
                    report.restored.append(path)
                else:
                    self._con.execute("UPDATE entries SET undo_error = ? WHERE id = ?", (error, entry_id))
                    report.errors.append((path, without_path(error, path)))
            if progress is not None:
                progress(done, len(entries))
        with self._lock:
            self._con.execute("UPDATE batches SET undone_at = ? WHERE id = ?", (_now(), batch_id))
        report.restored.reverse()  # in the order the files were written
        report.errors.reverse()
        return report

    @staticmethod
    def _undo_one(path: Path, old_frame: bytes | None, size: int, sha: str, state: str) -> str | None:
        try:
            st = path.stat()
        except FileNotFoundError:
            return f"{path}: file not found; not restored"
        except OSError as exc:
            return f"{path}: {exc.strerror or exc}; not restored"
        try:
            is_ours = st.st_size == size and file_sha256(path) == sha
            if not is_ours:
                if state == "pending" and read_genre_frame(path) == old_frame:
                    return None  # the write never replaced the file: it is already as it was
                return f"{path}: changed since genrenet wrote it; not restored"
            restore_genre_frame(path, old_frame)
        except (FileError, OSError) as exc:
            return str(exc)
        return None

    def undo_all(self) -> list[UndoReport]:
        """Undo every batch not yet undone, newest first."""
        reports = []
        while True:
            try:
                reports.append(self.undo())
            except JournalError:
                return reports

    # ------------------------------------------------------------------------------ listing

    def history(self) -> list[BatchInfo]:
        """Every batch, newest first."""
        with self._lock:
            rows = self._con.execute(
                "SELECT b.id, b.created_at, b.description, COUNT(e.id), b.undone_at IS NOT NULL"
                " FROM batches b LEFT JOIN entries e ON e.batch_id = b.id"
                " GROUP BY b.id ORDER BY b.id DESC").fetchall()
        return [BatchInfo(r[0], r[1], r[2], r[3], bool(r[4])) for r in rows]

    def files(self, batch_id: int) -> list[EntryInfo]:
        """The files of one batch, in the order they were written."""
        with self._lock:
            rows = self._con.execute(
                "SELECT path, old_frame, new_genres, state, undo_error FROM entries WHERE batch_id = ? ORDER BY id",
                (batch_id,)).fetchall()
        return [EntryInfo(Path(os.fsdecode(r[0])), r[1], tuple(json.loads(r[2])), r[3], r[4]) for r in rows]

    def _insert(self, sql: str, params: tuple) -> int:
        cur = self._con.execute(sql, params)
        return int(cur.lastrowid)

"""Where review decisions live: one SQLite file in the user data dir (paths.review_db()).

Decisions are the user's work over days, so they are kept apart from the library cache (which
"Clear cache" deletes and a broken file rebuilds) and beside the write journal. A decision is
keyed by the file's path (os.fsencode bytes, like the library and the journal) and carries the
fingerprint of the file it was made on; tagger.review compares that with the scanned file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from tagger import paths
from tagger.db import transaction
from tagger.errors import GenrenetError
from tagger.review import ReviewRecord
from tagger.track import DecisionStatus, Fingerprint

_SCHEMA = """
CREATE TABLE IF NOT EXISTS reviews (
    path BLOB PRIMARY KEY,          -- os.fsencode(absolute path)
    status TEXT NOT NULL CHECK (status IN ('pending', 'accepted', 'rejected', 'edited', 'written')),
    genres TEXT NOT NULL,           -- JSON list
    size INTEGER NOT NULL,          -- the file the decision was made on (or genrenet wrote)
    mtime_ns INTEGER NOT NULL,
    decided_at REAL NOT NULL,       -- unix time
    model_id TEXT,                  -- the prediction the decision was made on
    predicted TEXT,
    confidence REAL,
    batch_id INTEGER,               -- the journal batch that wrote it
    note TEXT                       -- why a decision went back to pending
) WITHOUT ROWID
"""
_COLUMNS = "path, status, genres, size, mtime_ns, decided_at, model_id, predicted, confidence, batch_id, note"
_CHUNK = 500  # paths per IN (...) query


class ReviewStoreError(GenrenetError):
    """The review file cannot be opened or used."""


def _key(path: Path | str) -> bytes:
    return os.fsencode(path)


def _row(path: Path, r: ReviewRecord) -> tuple:
    return (_key(path), r.status.value, json.dumps(list(r.genres), ensure_ascii=False),
            r.fingerprint.size, r.fingerprint.mtime_ns, r.decided_at, r.model_id, r.predicted,
            r.confidence, r.batch_id, r.note)


def _record(row: Sequence) -> ReviewRecord:
    _, status, genres, size, mtime_ns, decided_at, model_id, predicted, confidence, batch_id, note = row
    return ReviewRecord(DecisionStatus(status), tuple(json.loads(genres)), Fingerprint(size, mtime_ns),
                        decided_at, model_id, predicted, confidence, batch_id, note)


class ReviewStore:
    """The stored decisions; one connection shared by the app's threads, guarded by a lock."""

    def __init__(self, db_path: Path | str | None = None) -> None:
        self.db_path = Path(db_path) if db_path is not None else paths.review_db()
        self._lock = threading.RLock()
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            self._con = sqlite3.connect(self.db_path, timeout=10, check_same_thread=False,
                                        isolation_level=None)
            self._con.execute("PRAGMA journal_mode = WAL")
            self._con.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: never corrupt
            self._con.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise ReviewStoreError(
                f"cannot use the review file {self.db_path} ({exc}); your review decisions are kept "
                "there: move the file aside to start with an empty review") from None

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> ReviewStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get_many(self, file_paths: Iterable[Path]) -> dict[Path, ReviewRecord]:
        keys = {_key(p): p for p in file_paths}
        found: dict[Path, ReviewRecord] = {}
        wanted = list(keys)
        with self._lock:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start:start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for row in self._con.execute(f"SELECT {_COLUMNS} FROM reviews WHERE path IN ({marks})", chunk):
                    found[keys[row[0]]] = _record(row)
        return found

    def get(self, path: Path) -> ReviewRecord | None:
        return self.get_many([path]).get(path)

    def all(self) -> dict[Path, ReviewRecord]:
        with self._lock:
            rows = self._con.execute(f"SELECT {_COLUMNS} FROM reviews").fetchall()
        return {Path(os.fsdecode(row[0])): _record(row) for row in rows}

    def put_many(self, records: Iterable[tuple[Path, ReviewRecord]]) -> None:
        rows = [_row(p, r) for p, r in records]
        if rows:
            with self._transaction() as con:
                con.executemany(f"INSERT OR REPLACE INTO reviews ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)

    def delete_many(self, file_paths: Iterable[Path]) -> None:
        keys = [(_key(p),) for p in file_paths]
        if keys:
            with self._transaction() as con:
                con.executemany("DELETE FROM reviews WHERE path = ?", keys)

    def _transaction(self):
        return transaction(self._con, self._lock)

"""The library cache: what every scanned file looked like and held, and the predictions made for it.

One SQLite file (paths.library_db(), WAL mode) that is safe to delete. A file is known by its path
and its fingerprint (size + mtime_ns): a rescan stats every file and reopens only the new or
changed ones; a prediction is reused only while both the fingerprint and the model id match.

Paths are stored as the bytes of os.fsencode(), so file names that are not valid UTF-8 (old
Latin-1 rips on Linux) are kept exactly. The schema is versioned with `PRAGMA user_version`;
MIGRATIONS[i] takes a database from version i to i + 1.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tagger import paths
from tagger.db import transaction
from tagger.errors import FileError, GenrenetError
from tagger.scan import iter_audio_paths, path_order_key, read_track
from tagger.track import Fingerprint, Prediction, Track

Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)

CHUNK = 64  # files per step: one transaction, one progress call, one cancel check
DEFAULT_WORKERS = 4  # threads reading tags when the disk is slow: they overlap its latency
SLOW_READ_S = 0.001  # a tag read waiting longer than this waits on the disk: read the next chunk in threads
_SEP = os.fsencode(os.sep)


def _create_v1(con: sqlite3.Connection) -> None:
    con.execute(
        """CREATE TABLE tracks (
            path BLOB PRIMARY KEY,      -- os.fsencode(absolute path)
            size INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            title TEXT,
            artist TEXT,
            album TEXT,
            genres TEXT NOT NULL,       -- JSON list of strings
            duration REAL,
            error TEXT,                 -- tags could not be read; the file is still listed
            scanned_at REAL NOT NULL    -- unix time
        ) WITHOUT ROWID"""
    )
    con.execute(
        """CREATE TABLE predictions (
            path BLOB NOT NULL,
            model_id TEXT NOT NULL,
            size INTEGER NOT NULL,      -- fingerprint of the file the prediction was made from
            mtime_ns INTEGER NOT NULL,
            labels TEXT NOT NULL,       -- JSON list, n_labels long
            probabilities BLOB NOT NULL,          -- float32 little endian, (n_labels,)
            window_probabilities BLOB NOT NULL,   -- float32 little endian, (n_windows, n_labels)
            n_windows INTEGER NOT NULL,
            window_starts TEXT NOT NULL,          -- JSON list of seconds, n_windows long
            created_at REAL NOT NULL,
            PRIMARY KEY (path, model_id)
        )"""
    )


def _add_format(con: sqlite3.Connection) -> None:
    # Before this column only .mp3 files were scanned; a row that could not be read has no format.
    con.execute("ALTER TABLE tracks ADD COLUMN format TEXT NOT NULL DEFAULT ''")
    con.execute("UPDATE tracks SET format = 'MP3' WHERE error IS NULL")


def _add_tags(con: sqlite3.Connection) -> None:
    # Predictions made before this column have no tags: their tracks show no styles until classified again.
    con.execute("ALTER TABLE predictions ADD COLUMN tag_labels TEXT NOT NULL DEFAULT '[]'")  # JSON list
    con.execute("ALTER TABLE predictions ADD COLUMN tag_probabilities BLOB")  # float32 little endian, (n_tags,)


_ALBUM_FIELDS = ("track_number INTEGER", "track_total INTEGER", "disc_number INTEGER", "year INTEGER",
                 "album_artist TEXT", "compilation INTEGER")


def _add_album_fields(con: sqlite3.Connection) -> None:
    # Rows stored before these columns were read without these tags. Their `compilation` stays
    # NULL (a row stored since holds 0 or 1), and the next scan reads such a file again although
    # its fingerprint is unchanged (_read_before_album_fields), so the new fields appear; the
    # fingerprint stays true, so predictions and review decisions made on the file still hold.
    for column in _ALBUM_FIELDS:
        con.execute(f"ALTER TABLE tracks ADD COLUMN {column}")


# MIGRATIONS[i] upgrades a database at user_version i to i + 1. Append, never edit.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _create_v1, _add_format, _add_tags, _add_album_fields)
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass
class ScanReport:
    """What a scan found. `reopened` counts files whose tags were read (new + changed, and
    unchanged files whose cached row predates a tag field genrenet reads now)."""

    tracks: list[Track] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    cancelled: bool = False
    reopened: int = 0
    skipped: Counter = field(default_factory=Counter)  # audio files of unsupported types, by suffix

    def skipped_summary(self) -> str:
        """'12 files skipped: .wma (not supported)', or '' when none were."""
        total = sum(self.skipped.values())
        if not total:
            return ""
        kinds = ", ".join(f"{suffix} ({n})" if len(self.skipped) > 1 else suffix
                          for suffix, n in sorted(self.skipped.items(), key=lambda kv: (-kv[1], kv[0])))
        return f"{total} {'file' if total == 1 else 'files'} skipped: {kinds} (not supported)"


_TRACK_COLUMNS = ("path, size, mtime_ns, title, artist, album, genres, duration, error, format, "
                  "track_number, track_total, disc_number, year, album_artist, compilation")
_INSERT_TRACK = f"INSERT OR REPLACE INTO tracks ({_TRACK_COLUMNS}, scanned_at) VALUES ({', '.join('?' * 17)})"


def _key(path: Path | str) -> bytes:
    return os.fsencode(path)


def _under(root: bytes) -> tuple[bytes, bytes]:
    """The half-open byte range [lo, hi) holding every path inside folder `root`."""
    prefix = root if root.endswith(_SEP) else root + _SEP
    return prefix, prefix[:-1] + bytes([prefix[-1] + 1])


def _is_under(key: bytes, folder: bytes) -> bool:
    return key == folder or key.startswith(folder.rstrip(_SEP) + _SEP)


def _genres_json(genres: tuple[str, ...]) -> str:
    return json.dumps(list(genres), ensure_ascii=False) if genres else "[]"


class _RowReader:
    """Builds Tracks from rows; decodes each distinct genres JSON once (a library has few)."""

    def __init__(self) -> None:
        self._genres: dict[str, tuple[str, ...]] = {"[]": ()}

    def track(self, path: Path, row: tuple) -> Track:
        (_, size, mtime_ns, title, artist, album, genres_json, duration, error, fmt,
         track_number, track_total, disc_number, year, album_artist, compilation) = row
        genres = self._genres.get(genres_json)
        if genres is None:
            genres = self._genres[genres_json] = tuple(json.loads(genres_json))
        return Track(path, Fingerprint(size, mtime_ns), title, artist, album, genres, duration, error, fmt,
                     track_number=track_number, track_total=track_total, disc_number=disc_number, year=year,
                     album_artist=album_artist, compilation=bool(compilation))


def _read_before_album_fields(row: tuple) -> bool:
    """Whether a cached row was stored before the album fields were read: its compilation (the last
    of _TRACK_COLUMNS) is NULL (see _add_album_fields)."""
    return row[-1] is None


def _track_row(track: Track, now: float) -> tuple:
    return (
        _key(track.path),
        track.fingerprint.size,
        track.fingerprint.mtime_ns,
        track.title,
        track.artist,
        track.album,
        _genres_json(track.genres),
        track.duration,
        track.error,
        track.format,
        track.track_number,
        track.track_total,
        track.disc_number,
        track.year,
        track.album_artist,
        int(track.compilation),
        now,
    )


def _is_damaged(error: sqlite3.DatabaseError) -> bool:
    name = getattr(error, "sqlite_errorname", "")
    return (name in ("SQLITE_NOTADB", "SQLITE_CORRUPT") or "not a database" in str(error)
            or "malformed" in str(error))


def _rebuilt_when_damaged(method):
    """The cache is disposable: a damaged file found while using it is set aside, a new one is
    started, and the call is made again on it (once)."""
    @functools.wraps(method)
    def wrapper(self: Library, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as e:
            if not _is_damaged(e):
                raise
            self._rebuild(e)
            return method(self, *args, **kwargs)
    return wrapper


class Library:
    """The SQLite cache of tracks and predictions.

    One connection shared by the threads that use it, guarded by a lock; scan() takes the lock
    only around its database work, so another thread can read between two steps of a scan.
    """

    def __init__(self, db_path: Path | None = None, *, workers: int = DEFAULT_WORKERS) -> None:
        self.db_path = Path(db_path) if db_path is not None else paths.library_db()
        self.workers = max(1, workers)
        self._slow_reads = False  # the last chunk's tag reads waited on the disk (see _read_tracks)
        self._lock = threading.RLock()
        self.rebuilt: str | None = None  # why the cache was started anew in this session, if it was
        try:
            self.db_path.parent.mkdir(parents=True, exist_ok=True)
            if self.db_path.is_dir():
                raise GenrenetError(f"the library cache {self.db_path} is a folder, not a file: move it away "
                                    "(or choose another cache folder)")
            try:
                self._con = self._open()
            except sqlite3.DatabaseError as e:
                if not _is_damaged(e):
                    raise
                self._set_aside_corrupt(e)
                self._con = self._open()
        except (OSError, sqlite3.Error) as e:
            raise GenrenetError(f"the library cache {self.db_path} cannot be opened ({e})") from None

    # --- opening and schema --------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        con = sqlite3.connect(
            self.db_path, timeout=30, check_same_thread=False, isolation_level=None
        )
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=NORMAL")  # a cache: durable enough, never corrupt
            self._migrate(con)
        except BaseException:
            con.close()
            raise
        return con

    def _migrate(self, con: sqlite3.Connection) -> None:
        target = len(MIGRATIONS)
        version = con.execute("PRAGMA user_version").fetchone()[0]
        if version > target:
            raise GenrenetError(
                f"the library cache {self.db_path} was written by a newer genrenet "
                f"(schema {version}; this version knows up to {target}): upgrade genrenet, "
                "or delete that file to rebuild the cache"
            )
        for step in range(version, target):
            con.execute("BEGIN IMMEDIATE")
            try:
                MIGRATIONS[step](con)
                con.execute(f"PRAGMA user_version = {step + 1}")
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    def _set_aside_corrupt(self, error: BaseException) -> None:
        """The cache is disposable: keep the broken file for inspection and start a new one."""
        aside = self.db_path.with_name(f"{self.db_path.name}.corrupt-{int(time.time())}")
        os.replace(self.db_path, aside)
        for suffix in ("-wal", "-shm"):
            Path(f"{self.db_path}{suffix}").unlink(missing_ok=True)
        self.rebuilt = (f"the library cache was damaged ({error}); it was set aside as {aside.name} and is "
                        "rebuilt as files are scanned again")
        log.warning("%s", self.rebuilt)

    def _rebuild(self, error: BaseException) -> None:
        with self._lock:
            self._con.close()
            self._set_aside_corrupt(error)
            self._con = self._open()

    def close(self) -> None:
        with self._lock:
            self._con.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _transaction(self):
        return transaction(self._con, self._lock)

    # --- scanning ------------------------------------------------------------------------------

    @_rebuilt_when_damaged
    def scan(
        self,
        roots: Sequence[Path],
        *,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        found: Callable[[list[Track]], None] | None = None,
    ) -> ScanReport:
        """Bring the cache up to date with the audio files under `roots` and list them.

        Every file is stat'ed; only new or changed ones (size or mtime_ns differ) are opened.
        Tracks under the roots that are gone are removed, except under a folder that could not
        be read (an unmounted drive is not a deleted library). Files whose tags cannot be read
        are listed with Track.error and also reported in `errors`. A cancelled scan keeps what it
        stored so far, removes nothing, and lists the tracks it got to.

        `found(tracks)`, when given, is called (in the scanning thread) with each batch of up to
        CHUNK tracks once that batch is stored, in path order: across the calls every track of
        the report comes exactly once, unchanged ones included, so a caller can show rows while
        the scan runs.
        """
        report = ScanReport()
        cancelled = cancel.is_set if cancel is not None else (lambda: False)
        abs_roots = [Path(os.path.abspath(r)) for r in roots]

        files: list[str] = []
        for path in iter_audio_paths(abs_roots, report.errors, report.skipped):
            if cancelled():
                break
            files.append(path)
        walk_errors = [_key(p) for p, _ in report.errors]
        if cancelled():
            report.cancelled = True
            return report

        known = self._rows_under(abs_roots)
        seen: set[bytes] = set()
        total = len(files)
        if progress:
            progress(0, total)
        executor = ThreadPoolExecutor(self.workers) if self.workers > 1 else None
        rows = _RowReader()
        try:
            for start in range(0, total, CHUNK):
                if cancelled():
                    report.cancelled = True
                    break
                batch = self._scan_chunk(files[start : start + CHUNK], known, seen, report, executor, rows)
                if found and batch:
                    found(batch)
                if progress:
                    progress(min(start + CHUNK, total), total)
        finally:
            if executor is not None:
                executor.shutdown()

        if not report.cancelled:
            gone = [
                k for k in known
                if k not in seen and not any(_is_under(k, e) for e in walk_errors)
            ]
            if gone:
                with self._transaction() as con:
                    con.executemany("DELETE FROM tracks WHERE path = ?", ((k,) for k in gone))
                    con.executemany("DELETE FROM predictions WHERE path = ?", ((k,) for k in gone))
            report.removed = len(gone)
        return report

    def _scan_chunk(
        self,
        chunk: list[str],
        known: dict[bytes, tuple],
        seen: set[bytes],
        report: ScanReport,
        executor: ThreadPoolExecutor | None,
        rows: _RowReader,
    ) -> list[Track]:
        """Stat each file; serve unchanged ones from `known`, read the rest; store in one go.

        Returns the chunk's tracks (also appended to `report.tracks`)."""
        slots: list[Track | None] = []
        to_read: list[tuple[int, Path, Fingerprint, str]] = []  # (slot, path, stat, "new"/"changed"/"unchanged")
        for name in chunk:
            key = os.fsencode(name)
            try:
                st = os.stat(name)
            except OSError as e:
                report.errors.append((Path(name), f"cannot read file: {e.strerror or e}"))
                continue
            seen.add(key)
            path = Path(name)
            row = known.get(key)
            same = row is not None and row[1] == st.st_size and row[2] == st.st_mtime_ns
            if same and not _read_before_album_fields(row):
                slots.append(rows.track(path, row))
                report.unchanged += 1
            else:
                status = "new" if row is None else "unchanged" if same else "changed"
                to_read.append((len(slots), path, Fingerprint(st.st_size, st.st_mtime_ns), status))
                slots.append(None)

        if to_read:
            fresh = self._read_tracks([(p, fp) for _, p, fp, _ in to_read], executor)
            report.reopened += len(fresh)
            now = time.time()
            changed_keys = []
            for (slot, path, fp, status), track in zip(to_read, fresh, strict=True):
                slots[slot] = track
                if status == "new":
                    report.new += 1
                elif status == "unchanged":  # only its cached row was out of date
                    report.unchanged += 1
                else:
                    report.changed += 1
                    changed_keys.append((_key(path), fp.size, fp.mtime_ns))
            with self._transaction() as con:
                con.executemany(_INSERT_TRACK, (_track_row(t, now) for t in fresh))
                con.executemany(
                    "DELETE FROM predictions WHERE path = ? AND NOT (size = ? AND mtime_ns = ?)",
                    changed_keys,
                )

        batch = [t for t in slots if t is not None]
        for track in batch:
            report.tracks.append(track)
            if track.error:
                report.errors.append((track.path, track.error))
        return batch

    def _read_tracks(self, jobs: list[tuple[Path, Fingerprint]],
                     executor: ThreadPoolExecutor | None) -> list[Track]:
        """Read tags one file after another while reads are quick (files in the page cache: the
        reading is CPU work under the GIL, and threads only add contention, about 2x slower),
        and in `workers` threads once reads wait on the disk (a cold drive, a network share:
        about 2x faster). Each chunk's mean wait per read decides for the next chunk."""
        def timed(job: tuple[Path, Fingerprint]) -> tuple[Track, float]:
            """The track, and how long reading it waited (wall time less this thread's CPU)."""
            start, cpu = time.perf_counter(), time.thread_time()
            track = read_track(*job)
            return track, (time.perf_counter() - start) - (time.thread_time() - cpu)

        if executor is not None and self._slow_reads and len(jobs) > 1:
            results = list(executor.map(timed, jobs))
        else:
            results = [timed(job) for job in jobs]
        self._slow_reads = sum(dt for _, dt in results) / len(results) > SLOW_READ_S
        return [track for track, _ in results]

    def _rows_under(self, roots: Iterable[Path]) -> dict[bytes, tuple]:
        """Cached rows of the tracks at or under each root, keyed by path bytes."""
        rows: dict[bytes, tuple] = {}
        with self._lock:
            for root in roots:
                key = _key(root)
                lo, hi = _under(key)
                for q, args in (("path = ?", (key,)), ("path >= ? AND path < ?", (lo, hi))):
                    for row in self._con.execute(
                        f"SELECT {_TRACK_COLUMNS} FROM tracks WHERE {q}", args
                    ):
                        rows[row[0]] = row
        return rows

    # --- reading -------------------------------------------------------------------------------

    @_rebuilt_when_damaged
    def tracks(self, roots: Sequence[Path] | None = None) -> list[Track]:
        """Cached tracks (all, or those at or under `roots`), in path order. Opens no file."""
        if roots is None:
            with self._lock:
                rows = self._con.execute(f"SELECT {_TRACK_COLUMNS} FROM tracks").fetchall()
        else:
            rows = list(self._rows_under(Path(os.path.abspath(r)) for r in roots).values())
        named = sorted(((os.fsdecode(row[0]), row) for row in rows), key=lambda nr: path_order_key(nr[0]))
        reader = _RowReader()
        return [reader.track(Path(name), row) for name, row in named]

    @_rebuilt_when_damaged
    def track(self, path: Path) -> Track | None:
        """The cached track of one file, as last scanned (or written); opens no file."""
        with self._lock:
            row = self._con.execute(f"SELECT {_TRACK_COLUMNS} FROM tracks WHERE path = ?",
                                    (_key(path),)).fetchone()
        return None if row is None else _RowReader().track(Path(path), row)

    @_rebuilt_when_damaged
    def update_track(self, track: Track, *, keep_predictions: bool = True) -> Track:
        """Re-read one file after a genre write changed it: new tags, new fingerprint.

        A write touches only the genre frame, so the audio the predictions were made from is
        the same: predictions made at `track.fingerprint` move to the new fingerprint unless
        `keep_predictions` is False. A file that vanished is dropped and raises FileError.
        """
        key = _key(track.path)
        try:
            fresh = read_track(track.path)
        except FileError:
            with self._transaction() as con:
                con.execute("DELETE FROM tracks WHERE path = ?", (key,))
                con.execute("DELETE FROM predictions WHERE path = ?", (key,))
            raise
        old, new = track.fingerprint, fresh.fingerprint
        with self._transaction() as con:
            con.execute(_INSERT_TRACK, _track_row(fresh, time.time()))
            if keep_predictions and old != new:
                con.execute(
                    "UPDATE OR REPLACE predictions SET size = ?, mtime_ns = ? "
                    "WHERE path = ? AND size = ? AND mtime_ns = ?",
                    (new.size, new.mtime_ns, key, old.size, old.mtime_ns),
                )
            con.execute(
                "DELETE FROM predictions WHERE path = ? AND NOT (size = ? AND mtime_ns = ?)",
                (key, new.size, new.mtime_ns),
            )
        return fresh

    @_rebuilt_when_damaged
    def clear(self) -> None:
        """Forget every track and prediction (the schema stays)."""
        with self._transaction() as con:
            con.execute("DELETE FROM tracks")
            con.execute("DELETE FROM predictions")

    # --- predictions ---------------------------------------------------------------------------

    @_rebuilt_when_damaged
    def store_prediction(self, track: Track, prediction: Prediction) -> None:
        """Keep `prediction` for `track` as scanned (its fingerprint), replacing an older one."""
        if prediction.path != track.path:
            raise ValueError(f"prediction is for {prediction.path}, not {track.path}")
        n_labels = len(prediction.labels)
        probabilities = np.asarray(prediction.probabilities, dtype="<f4")
        windows = np.asarray(prediction.window_probabilities, dtype="<f4")
        if probabilities.shape != (n_labels,):
            raise ValueError(f"probabilities have shape {probabilities.shape}, expected ({n_labels},)")
        if windows.ndim != 2 or windows.shape[1] != n_labels:
            raise ValueError(f"window probabilities have shape {windows.shape}, expected (n, {n_labels})")
        tags = None if prediction.tag_probabilities is None else np.asarray(prediction.tag_probabilities, dtype="<f4")
        if tags is not None and tags.shape != (len(prediction.tag_labels),):
            raise ValueError(f"tag probabilities have shape {tags.shape}, expected ({len(prediction.tag_labels)},)")
        with self._transaction() as con:
            con.execute(
                "INSERT OR REPLACE INTO predictions (path, model_id, size, mtime_ns, labels, probabilities, "
                "window_probabilities, n_windows, window_starts, created_at, tag_labels, tag_probabilities) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _key(track.path),
                    prediction.model_id,
                    track.fingerprint.size,
                    track.fingerprint.mtime_ns,
                    json.dumps(list(prediction.labels), ensure_ascii=False),
                    probabilities.tobytes(),
                    windows.tobytes(),
                    windows.shape[0],
                    json.dumps([float(s) for s in prediction.window_starts]),
                    time.time(),
                    json.dumps(list(prediction.tag_labels) if tags is not None else [], ensure_ascii=False),
                    None if tags is None else tags.tobytes(),
                ),
            )

    @_rebuilt_when_damaged
    def cached_prediction(self, track: Track, model_id: str) -> Prediction | None:
        """The stored prediction of `model_id` for `track`, if made from this very fingerprint."""
        with self._lock:
            row = self._con.execute(
                "SELECT labels, probabilities, window_probabilities, n_windows, window_starts, tag_labels, "
                "tag_probabilities FROM predictions WHERE path = ? AND model_id = ? AND size = ? AND mtime_ns = ?",
                (_key(track.path), model_id, track.fingerprint.size, track.fingerprint.mtime_ns),
            ).fetchone()
        return None if row is None else _prediction_from_row(track, model_id, row)

    @_rebuilt_when_damaged
    def cached_predictions(self, tracks: Sequence[Track], model_id: str) -> dict[Path, Prediction]:
        """cached_prediction for many tracks in one query (a view opening 100,000 tracks)."""
        wanted = {_key(t.path): t for t in tracks}
        found: dict[Path, Prediction] = {}
        with self._lock:
            rows = self._con.execute(
                "SELECT path, size, mtime_ns, labels, probabilities, window_probabilities, "
                "n_windows, window_starts, tag_labels, tag_probabilities FROM predictions WHERE model_id = ?",
                (model_id,),
            ).fetchall()
        for key, size, mtime_ns, *row in rows:
            track = wanted.get(key)
            if track is not None and track.fingerprint == Fingerprint(size, mtime_ns):
                found[track.path] = _prediction_from_row(track, model_id, row)
        return found


def _prediction_from_row(track: Track, model_id: str, row: Sequence) -> Prediction:
    labels_json, probs, windows, n_windows, starts_json, tags_json, tags = row
    labels = tuple(json.loads(labels_json))
    return Prediction(
        path=track.path,
        model_id=model_id,
        labels=labels,
        probabilities=np.frombuffer(probs, dtype="<f4").astype(np.float32),
        window_probabilities=np.frombuffer(windows, dtype="<f4")
        .reshape(n_windows, len(labels))
        .astype(np.float32),
        window_starts=tuple(json.loads(starts_json)),
        tag_labels=tuple(json.loads(tags_json)) if tags is not None else (),
        tag_probabilities=None if tags is None else np.frombuffer(tags, dtype="<f4").astype(np.float32),
    )

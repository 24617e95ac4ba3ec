"""SQLite helpers shared by the library cache, the review store and the journal."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def transaction(con: sqlite3.Connection, lock: threading.RLock) -> Iterator[sqlite3.Connection]:
    """One write transaction on a connection in autocommit mode (isolation_level=None), taken
    at once (BEGIN IMMEDIATE: no upgrade deadlock between two writers), under the object's lock."""
    with lock:
        con.execute("BEGIN IMMEDIATE")
        try:
            yield con
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

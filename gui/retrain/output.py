"""Where a trained model goes: a fresh name by default, never an existing file without asking,
and nothing half-written left behind when the trainer is stopped.

The trainer writes the checkpoint atomically (tagger.checkpoint.save_checkpoint: a temp file
`.<name>.*.tmp` in the same folder, then os.replace) each time validation improves, and its
resume state `<name>.state.pt` the same way (`.<name>.state.pt.tmp<pid>`). A stop (SIGTERM)
finishes the current step and keeps the best checkpoint; only a kill in the middle of a write
can leave a temp file, which remove_leftovers deletes.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

from tagger import paths


def free_name(path: Path) -> Path:
    """`path`, or `name-2.pt`, `name-3.pt`... next to it: the first that does not exist."""
    n = 2
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def default_output() -> Path:
    """A new timestamped file under the user's data folder."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M")
    return free_name(paths.data_dir() / "models" / f"genrenet-{stamp}.pt")


def stamp(path: Path) -> tuple[float, int] | None:
    """(mtime, size) of a file, None when it is not there: tells whether a run wrote it."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime, st.st_size


def remove_leftovers(out: Path | None) -> None:
    """Temp files of a trainer killed while writing `out` or its state file."""
    if out is None or not out.parent.is_dir():
        return
    for stray in out.parent.glob(f".{out.name}*tmp*"):
        stray.unlink(missing_ok=True)

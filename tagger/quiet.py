"""Keep C libraries' noise off the terminal: libmpg123 (inside libsndfile) prints a line to the
process's stderr for every damaged or freshly seeked MP3 frame ("part2_3_length ... too large",
"Illegal Audio-MPEG-Header"), unattributed and harmless: genrenet reports a file that cannot be
decoded itself.

filter_decoder_noise() points file descriptor 2 (where C code writes) at a pipe whose reader
passes every other line on to the real stderr, while Python's sys.stderr keeps writing to the
real stderr directly, so nothing Python prints waits on the filter. Entry points call it once;
library code and tests never do.
"""

from __future__ import annotations

import io
import os
import sys
import threading

NOISE = (b"[src/libmpg123/", b"Illegal Audio-MPEG-Header", b"Note: Trying to resync", b"Giving up resync")
_installed = False


def filter_decoder_noise() -> None:
    global _installed
    if _installed or os.name != "posix":
        return
    try:
        sys.stderr.flush()
        real = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
    except OSError:
        return
    _installed = True
    sys.stderr = io.TextIOWrapper(io.FileIO(real, "w", closefd=False), encoding=sys.stderr.encoding,
                                  errors="surrogateescape", line_buffering=True)
    threading.Thread(target=_pass_on, args=(read_end, real), name="genrenet-stderr", daemon=True).start()


def _pass_on(read_end: int, real: int) -> None:
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        for line in io.BufferedReader(pipe):
            if not line.startswith(NOISE) and not any(n in line for n in NOISE[1:]):
                try:
                    os.write(real, line)
                except OSError:
                    return

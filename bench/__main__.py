"""Run every bench_*.py module's main(), or only those named: `python -m bench [NAME ...]`.

NAME is a module name with or without its `bench_` prefix (`scan` or `bench_scan`). Arguments
after `--` go to the one benchmark named: `python -m bench scan -- --files 500`. A main() may take
argv (a list of strings) or nothing, and may return an exit code.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path

PREFIX = "bench_"


def discover() -> list[str]:
    """Names of the benchmark modules in this package, sorted."""
    here = [str(Path(__file__).resolve().parent)]
    return sorted(m.name for m in pkgutil.iter_modules(here) if m.name.startswith(PREFIX))


def main(argv: Sequence[str] | None = None) -> int:
    from tagger.quiet import filter_decoder_noise

    filter_decoder_noise()  # libmpg123's notes about seeked frames would drown the numbers
    args = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, passthrough = args[:cut], args[cut + 1 :]
    available = discover()
    wanted = [a if a.startswith(PREFIX) else PREFIX + a for a in args] or available
    unknown = [w for w in wanted if w not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}",
              file=sys.stderr)
        return 2
    if passthrough and len(wanted) != 1:
        print("arguments after -- go to one benchmark: name it, e.g. `python -m bench scan -- --files 500`",
              file=sys.stderr)
        return 2
    failed = []
    for name in wanted:
        print(f"== {name} ==", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"{__package__ or 'bench'}.{name}")
            run = module.main
            takes_argv = bool(inspect.signature(run).parameters)
            result = run(passthrough) if takes_argv else run()
            if isinstance(result, int) and result != 0:
                failed.append(name)
        except Exception:  # one broken benchmark does not hide the others' numbers
            traceback.print_exc()
            failed.append(name)
        print(f"== {name}: {time.perf_counter() - started:.1f} s ==\n", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""The core stays importable headless: tagger never imports Qt or gui."""

from __future__ import annotations

import subprocess
import sys


def test_tagger_imports_no_qt():
    code = (
        "import sys, pkgutil, importlib, tagger\n"
        "for m in pkgutil.walk_packages(tagger.__path__, 'tagger.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('PySide6', 'shiboken6', 'gui'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_command_line_parser_loads_without_torch():
    """`genrenet --help`, scan, history and undo start fast: torch loads only when a model runs."""
    code = "import sys, tagger.cli; tagger.cli.build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

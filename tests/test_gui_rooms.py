"""The app reads as rooms: no gui module over ~400 lines, no function over 60 lines unless a
comment in it says why it is long ("long:")."""

from __future__ import annotations

import ast
from pathlib import Path

GUI = Path(__file__).resolve().parents[1] / "gui"
MAX_MODULE_LINES = 420
MAX_FUNCTION_LINES = 60


def _modules() -> list[Path]:
    return sorted(GUI.rglob("*.py"))


def test_no_gui_module_is_over_the_limit():
    big = {str(p.relative_to(GUI)): n for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert big == {}


def test_no_gui_function_is_long_without_saying_why():
    long = []
    for path in _modules():
        source = path.read_text()
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                body = lines[node.lineno - 1:node.end_lineno]
                if len(body) > MAX_FUNCTION_LINES and not any("# long:" in line for line in body):
                    long.append(f"{path.relative_to(GUI)}:{node.lineno} {node.name} ({len(body)} lines)")
    assert long == []

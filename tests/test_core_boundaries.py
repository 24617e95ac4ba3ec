"""The core stays importable headless: tagger never imports Qt, gui or training; the commands
of gui/ and training/ reach `genrenet` through entry points."""

from __future__ import annotations

import ast
import importlib.metadata
import subprocess
import sys
from pathlib import Path

from tagger import cli

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("gui", "training", "PySide6", "shiboken6")
PLUGIN_COMMANDS = ("gui", "train", "evaluate", "import-musicnn", "learn")


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


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every import in a module, at any depth (inside functions too), and of
    import_module("...") / __import__("...") calls with a literal name."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if name in ("import_module", "__import__"):
                found.append((node.lineno, node.args[0].value))
    return found


def test_tagger_source_never_imports_gui_training_or_qt():
    """Not at import time, and not inside a function either (what the test above cannot see)."""
    files = sorted((ROOT / "tagger").rglob("*.py"))
    assert len(files) > 20
    bad = [f"{path.relative_to(ROOT)}:{line}: {module}"
           for path in files
           for line, module in imported_modules(ast.parse(path.read_text(encoding="utf-8"), str(path)))
           if module.split(".")[0] in FORBIDDEN]
    assert bad == []


def test_the_import_check_sees_imports_inside_functions():
    code = ("def f():\n    from gui.app import main\n    import training.cli as t\n"
            "    importlib.import_module('PySide6.QtCore')\nfrom . import gui\n")
    assert [m for _, m in imported_modules(ast.parse(code))] == ["gui.app", "training.cli", "PySide6.QtCore"]


def test_command_line_parser_loads_without_torch():
    """`genrenet --help`, scan, history and undo start fast: torch loads only when a model runs."""
    code = "import sys, tagger.cli; tagger.cli.build_parser(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def subcommands(parser) -> dict:
    return next(a for a in parser._actions if a.dest == "command").choices


def test_gui_and_training_commands_come_from_their_entry_points():
    declared = {ep.name: ep.value for ep in importlib.metadata.entry_points(group=cli.COMMANDS_GROUP)}
    assert set(declared) == set(PLUGIN_COMMANDS), "reinstall: pip install -e '.[test]'"
    commands = subcommands(cli.build_parser())
    for name, value in declared.items():
        module = value.partition(":")[0]
        assert commands[name].get_default("func").__module__.split(".")[0] == module.split(".")[0]
    help_text = cli.build_parser().format_help()
    places = [help_text.index(f"    {name} ") for name in ("history", *PLUGIN_COMMANDS)]
    assert places == sorted(places)  # after the core's commands, in PLUGIN_ORDER


def test_a_broken_plugin_leaves_its_command_out_and_says_why(monkeypatch, capsys, tmp_path):
    broken = importlib.metadata.EntryPoint("train", "no_such_package.cli:register", cli.COMMANDS_GROUP)
    monkeypatch.setattr(cli, "entry_points", lambda group: [broken])
    assert "train" not in cli.build_parser().format_help()
    assert cli.main(["train", "--dataset", "gtzan", "x", "--help"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("genrenet train: this command is not available: no_such_package.cli:register")
    assert "No module named 'no_such_package'" in err
    assert cli.main(["scan", str(tmp_path)]) == 0  # the core's commands are untouched
    assert "no supported audio files" in capsys.readouterr().err


def test_a_plugin_cannot_replace_a_core_command(monkeypatch):
    rogue = importlib.metadata.EntryPoint("scan", "training.cli:add_train_parser", cli.COMMANDS_GROUP)
    monkeypatch.setattr(cli, "entry_points", lambda group: [rogue])
    assert subcommands(cli.build_parser())["scan"].get_default("func") is cli.cmd_scan

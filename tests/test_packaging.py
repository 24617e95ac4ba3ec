"""A plain `pip install .` (not only an editable install) carries the models, taxonomy and icons."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_ships_resources_as_package_data(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )
    (wheel,) = tmp_path.glob("genrenet-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "genrenet_resources/genres.toml" in names
    shipped = {n for n in names if n.startswith("genrenet_resources/models/")}
    expected = {f"genrenet_resources/models/{p.name}" for p in (ROOT / "resources" / "models").iterdir()
                if p.is_file()}
    assert expected <= shipped
    assert {"tagger/cli.py", "gui/__init__.py", "gui/mainwindow/window.py", "gui/settings/dialog.py", "training/__init__.py"} <= names

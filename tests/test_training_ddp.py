"""The training script under torchrun: two CPU processes, DistributedDataParallel over gloo."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tagger.checkpoint import load_checkpoint
from tests.test_datasets import make_gtzan

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_two_process_ddp_run_trains_and_only_rank_zero_reports(tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun is not installed")
    data = make_gtzan(tmp_path / "gtzan", per_genre=5, seconds=4.0)
    out = tmp_path / "m.pt"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "training.cli", "train", "--dataset", "gtzan",
         str(data), "--epochs", "2", "--arch", "compact_cnn", "--arch-kwargs", '{"width": 4}', "--batch-size", "4",
         "--crops-per-clip", "2", "--workers", "1", "--device", "cpu", "--out", str(out), "--progress-json",
         "--cache-dir", str(tmp_path / "cache")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-2000:]
    events = [json.loads(x) for x in proc.stdout.splitlines() if x.startswith("{")]
    starts = [e for e in events if e["event"] == "start"]
    assert len(starts) == 1  # rank 1 trains but does not report
    # 8 training clips x 2 crops shared by 2 ranks in batches of 4: 2 steps per epoch each.
    assert starts[0]["steps_per_epoch"] == 2
    assert events[-1]["event"] == "done" and events[-1]["stopped"] == "completed"
    assert load_checkpoint(out).labels == ("Blues", "Metal")


@pytest.mark.parametrize("world", ["1", "2"])
def test_a_process_ends_with_its_exit_code_and_its_output_flushed(world):
    """A process of a distributed run ends with os._exit (training.cli.end_distributed): what it
    printed, on stdout and stderr, must still come out; a single process goes on and exits as usual."""
    script = ("import sys; from training.cli import end_distributed; "
              "print('report', end=''); print('note', end='', file=sys.stderr); "
              "code = end_distributed(3); print(' went on', end=''); sys.exit(code)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout buffered, as by default
    proc = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=dict(env, WORLD_SIZE=world))
    went_on = " went on" if world == "1" else ""
    assert (proc.returncode, proc.stdout, proc.stderr) == (3, "report" + went_on, "note")

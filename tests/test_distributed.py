"""One run over several processes (`torchrun`, gloo on the CPU) through the installed
`altgrad-train`: the losses of one process with the same global batch, to float tolerance; one
writer; a finished run found finished by all; a killed run resumed on every process."""

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from altgrad.files import read_metrics

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(
    recipe="bf16",
    n_layer=2,
    n_head=2,
    n_embd=32,
    block_size=32,
    batch_size=4,
    max_steps=8,
    warmup_steps=2,
    learning_rate=1e-2,
    eval_interval=4,
    eval_iters=3,
    log_interval=1,
    device="cpu",
    save_checkpoints=False,
    divergence_nats=0,
)
COMPARED = (
    "loss",
    "grad_norm",
    "val_loss",
)  # the measurements (diag/) are rank 0's share of the batch


def train(tmp_path: Path, name: str, processes: int = 1, **extra) -> subprocess.CompletedProcess:
    "`altgrad-train` as a user runs it, alone or under torchrun."
    exe = shutil.which("altgrad-train")
    assert exe, "altgrad-train is not installed (pip install -e . must install the console script)"
    settings = TINY | dict(checkpoint_dir=tmp_path, run_name=name) | extra
    args = ["e5m2_short"] + [f"{k}={v}" for k, v in settings.items()]
    launch = (
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={processes}",
            "--no-python",
        ]
        if processes > 1
        else []
    )
    done = subprocess.run(
        [*launch, exe, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def curves(run_dir: Path) -> dict[int, dict]:
    return {r["step"]: {k: r[k] for k in COMPARED if k in r} for r in read_metrics(run_dir)}


@pytest.fixture(scope="module")
def alone(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("alone")
    train(root, "run")
    return root / "run"


@pytest.mark.parametrize("micro", [0, 1], ids=["whole-share", "accumulated"])
def test_two_processes_train_as_one(alone, tmp_path, micro):
    train(tmp_path, "run", processes=2, micro_batch_size=micro)
    got, want = curves(tmp_path / "run"), curves(alone)
    assert list(got) == list(want)  # every logged step once: one writer
    for step, record in want.items():
        for key, value in record.items():
            assert math.isclose(got[step][key], value, rel_tol=2e-5), (
                step,
                key,
                got[step][key],
                value,
            )
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["completed"] and math.isclose(
        summary["final_val_loss"],
        json.loads((alone / "summary.json").read_text())["final_val_loss"],
        rel_tol=2e-5,
    )
    if micro == 0:  # run again: every process finds the run finished, nothing is written
        before = (tmp_path / "run" / "metrics.jsonl").read_bytes()
        done = train(tmp_path, "run", processes=2)
        assert "nothing to do" in done.stderr + done.stdout
        assert (tmp_path / "run" / "metrics.jsonl").read_bytes() == before


def test_a_batch_that_does_not_split_is_refused(tmp_path):
    exe = shutil.which("altgrad-train")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=3",
            "--no-python",
            exe,
            "e5m2_short",
        ]
        + [f"{k}={v}" for k, v in (TINY | dict(checkpoint_dir=tmp_path)).items()],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode != 0 and "must split evenly over the 3 processes" in done.stderr


KILLED_AT_STEP_6 = """
import os, signal, sys
from altgrad import runner, train
step = train.Trainer.train_step
def dying(self):
    if self.step == 6:  # every process, mid-run, after the step-4 checkpoint
        os.kill(os.getpid(), signal.SIGKILL)
    return step(self)
train.Trainer.train_step = dying
runner.main(sys.argv[1:])
"""


def test_a_killed_run_resumes_on_every_process(tmp_path):
    "Killed after its step-4 checkpoint, the same command resumes every process from it, unchanged."
    settings = dict(save_checkpoints=True, checkpoint_interval=4)
    train(tmp_path, "straight", processes=2, **settings)
    script = tmp_path / "killed.py"
    script.write_text(KILLED_AT_STEP_6)
    settings_of_run = TINY | settings | dict(checkpoint_dir=tmp_path, run_name="run")
    args = ["e5m2_short"] + [f"{k}={v}" for k, v in settings_of_run.items()]
    killed = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node=2",
            str(script),
            *args,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode != 0 and not (tmp_path / "run" / "summary.json").exists()
    done = train(tmp_path, "run", processes=2, **settings)
    assert "from step_0000004.pt" in done.stderr + done.stdout
    assert curves(tmp_path / "run") == curves(
        tmp_path / "straight"
    )  # the same numbers, bit for bit

"""The study sweep expands as documented, and a sweep runs across worker processes."""
import json
from pathlib import Path

from altgrad.sweep import load_sweep, run_sweep

ROOT = Path(__file__).resolve().parents[1]


def test_study_sweep_expands_and_every_run_config_is_valid():
    base, settings, runs = load_sweep(ROOT / "configs" / "sweeps" / "study.yaml")
    assert len(runs) == 6 * 4 * 3 + 6 * 3 + 3
    assert settings["save_checkpoints"] is False
    assert {r.name.split("_")[0] for r in runs} == {"e0m7", "e1m6", "e3m4", "e4m3", "e5m2", "e7m0", "bf16"}


def test_sweep_runs_in_worker_processes(tmp_path):
    sweep = tmp_path / "s.yaml"
    sweep.write_text("base: e5m2_short.yaml\ngrids:\n"
                     "  - {format: [E5M2, bf16], optimizer: [adamw], placement: [uniform], seed: [1]}\n")
    log = run_sweep(sweep, tmp_path / "runs", workers=2, n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=2,
                    max_steps=2, warmup_steps=1, eval_interval=2, eval_iters=1, device="cpu", save_checkpoints=False)
    assert log["incomplete"] == [] and log["ran"] == 2
    summary = json.loads((tmp_path / "runs" / "e5m2_uniform_adamw_s1" / "summary.json").read_text())
    assert summary["steps"] == 2 and summary["result"]["formats"] == ["E5M2"]


def test_one_sweep_per_output_folder_and_at_least_one_worker(tmp_path):
    import pytest
    from altgrad.files import DirectoryLock, LockedError
    from altgrad.sweep import main
    sweep = tmp_path / "s.yaml"
    sweep.write_text("base: e5m2_short.yaml\ngrids:\n  - {format: [bf16], optimizer: [adamw], placement: [uniform], seed: [1]}\n")
    with DirectoryLock(tmp_path / "runs", "sweep output folder"):  # another sweep is writing there
        with pytest.raises(LockedError, match="already being written"):
            run_sweep(sweep, tmp_path / "runs", device="cpu")
    with pytest.raises(ValueError, match="workers must be a whole number >= 1"):
        run_sweep(sweep, tmp_path / "runs", workers=0)
    with pytest.raises(SystemExit):
        main([str(sweep), "--out", str(tmp_path / "runs"), "--workers", "0"])

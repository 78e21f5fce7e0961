"""The sweep on a Dask cluster (issue: beyond one machine): a local cluster of 2 worker processes on the CPU runs a
tiny sweep into a shared folder; a run that raises is retried by Dask, then recorded as failed while the other
finishes; a resumed sweep runs only what is not complete there."""
import json

import pytest

pytest.importorskip("distributed")

from altgrad.files import DirectoryLock
from altgrad.sweep import run_sweep

TINY = dict(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=2, max_steps=3, warmup_steps=1, eval_interval=3,
            eval_iters=1, diagnostic_interval=2, device="cpu", save_checkpoints=False)


def test_a_local_dask_cluster_runs_a_sweep_records_a_failure_and_resumes(tmp_path):
    import os
    environment = dict(os.environ)
    sweep = tmp_path / "s.yaml"
    sweep.write_text("base: e5m2_short.yaml\ngrids:\n"
                     "  - {format: [E3M4, bf16], optimizer: [adamw], placement: [uniform], seed: [7]}\n")
    out = tmp_path / "runs"
    with DirectoryLock(out / "bf16_uniform_adamw_s7", "run directory"):  # a live writer: that run must refuse to start
        log = run_sweep(sweep, out, workers=2, scheduler="dask", **TINY)
    assert (log["runs"], log["ran"], log["scheduler"]) == (2, 1, "dask")
    assert [f["name"] for f in log["failed"]] == log["incomplete"] == ["bf16_uniform_adamw_s7"]
    assert "run directory" in log["failed"][0]["error"]
    log = run_sweep(sweep, out, workers=2, scheduler="dask", **TINY)  # resumed: only the run that failed
    assert (log["ran"], log["failed"], log["incomplete"]) == (1, [], [])
    for name in ("e3m4_uniform_adamw_s7", "bf16_uniform_adamw_s7"):
        assert json.loads((out / name / "summary.json").read_text())["steps"] == 3
    assert dict(os.environ) == environment  # the local cluster's OMP_NUM_THREADS=1 etc. do not stay behind

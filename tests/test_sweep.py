"""The study sweep expands as documented, and a sweep runs across worker processes."""
import json
from pathlib import Path

from altgrad.sweep import load_sweep, run_sweep
from fault_table import fault

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


TINY = dict(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=2, max_steps=4, warmup_steps=1, eval_interval=2,
            eval_iters=1, diagnostic_interval=2, device="cpu", save_checkpoints=False)
# Loaded by every Python process started with this folder on PYTHONPATH (the sweep's spawned workers): makes the run
# named in ALTGRAD_TEST_KILL kill its own worker the first time it starts, and the one in ALTGRAD_TEST_RAISE fail
# every time, as a CUDA out-of-memory error would.
FAULTS = '''
import os, signal
from pathlib import Path
import altgrad.runner as runner
original = runner.run_format_experiment
def faulty(*args, run_name=None, **kwargs):
    marker = Path(os.environ["ALTGRAD_TEST_MARKERS"]) / str(run_name)
    if run_name == os.environ.get("ALTGRAD_TEST_KILL") and not marker.exists():
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    if run_name == os.environ.get("ALTGRAD_TEST_RAISE"):
        raise RuntimeError("CUDA out of memory (simulated)")
    return original(*args, run_name=run_name, **kwargs)
runner.run_format_experiment = faulty
'''


@fault('a sweep worker killed; a run raising (out of memory)',
       'the run is tried once more in a fresh worker, then marked failed in `sweep.json`; the others go on',
       'nothing')

def test_a_dying_worker_loses_only_its_run_which_is_retried_and_a_failing_run_is_marked(tmp_path, monkeypatch):
    import os
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(FAULTS)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(hooks), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("ALTGRAD_TEST_MARKERS", str(tmp_path))
    monkeypatch.setenv("ALTGRAD_TEST_KILL", "e5m2_uniform_adamw_s1")
    monkeypatch.setenv("ALTGRAD_TEST_RAISE", "e3m4_uniform_adamw_s1")
    sweep = tmp_path / "s.yaml"
    sweep.write_text("base: e5m2_short.yaml\ngrids:\n"
                     "  - {format: [E5M2, E3M4, bf16], optimizer: [adamw], placement: [uniform], seed: [1]}\n")
    log = run_sweep(sweep, tmp_path / "runs", workers=2, **TINY)
    runs = log["per_run"]
    assert runs["e5m2_uniform_adamw_s1"]["status"] == "done" and runs["e5m2_uniform_adamw_s1"]["attempts"] == 2
    assert runs["bf16_uniform_adamw_s1"]["status"] == "done" and runs["bf16_uniform_adamw_s1"]["attempts"] == 1
    assert log["failed"] == [dict(name="e3m4_uniform_adamw_s1", attempts=2,
                                  error="RuntimeError: CUDA out of memory (simulated)")]
    assert log["incomplete"] == ["e3m4_uniform_adamw_s1"] and log["ran"] == 2
    # the run that ran out of memory was retried with twice a worker's equal share of the GPU (two workers: 0.475)
    assert runs["e3m4_uniform_adamw_s1"]["memory_share"] == 0.95 and runs["bf16_uniform_adamw_s1"]["memory_share"] == 0.475
    assert json.loads((tmp_path / "runs" / "sweep.json").read_text())["failed"] == log["failed"]


@fault('kill -9 of a sweep and its workers',
       'the same command finishes every run, no step twice',
       'nothing')
def test_a_killed_sweep_restarts_and_finishes_without_stale_runs(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    sweep = tmp_path / "s.yaml"
    sweep.write_text("base: e5m2_short.yaml\ngrids:\n"
                     "  - {format: [E5M2, bf16], optimizer: [adamw], placement: [uniform], seed: [1, 2]}\n")
    args = [sys.executable, "-m", "altgrad.sweep", str(sweep), "--out", str(tmp_path / "runs"), "--workers", "2",
            *[f"{k}={v}" for k, v in (TINY | dict(max_steps=10)).items()]]
    sweep_process = subprocess.Popen(args, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
    summaries = lambda: list((tmp_path / "runs").glob("*/summary.json"))
    deadline = time.time() + 240
    while len(summaries()) < 1 and time.time() < deadline and sweep_process.poll() is None: time.sleep(0.1)
    os.killpg(sweep_process.pid, signal.SIGKILL)  # the sweep and its workers, in the middle of their runs
    sweep_process.wait()
    assert 1 <= len(summaries()) < 4, "the sweep was meant to be killed half-way"
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    log = json.loads((tmp_path / "runs" / "sweep.json").read_text())
    assert log["incomplete"] == [] and log["failed"] == []
    for run in (tmp_path / "runs").iterdir():
        if not run.is_dir(): continue
        steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
        assert steps == sorted(set(steps)) and steps[0] == 0 and steps[-1] == 9, run.name  # no stale, none twice


def test_every_sweep_file_loads_and_the_v2_files_name_no_run_twice():
    from altgrad.sweep import load_sweeps
    files = sorted(p for p in (ROOT / "configs" / "sweeps").glob("*.yaml") if not p.name.endswith(".study.yaml"))
    for path in files: load_sweep(path)  # every run's config is checked
    v2 = load_sweeps([p for p in files if p.name.startswith("v2_")])  # one queue into results/v2: no name twice
    assert len(v2) > 400


def test_every_study_file_loads():
    from altgrad.narrative import StudyText
    studies = sorted((ROOT / "configs" / "sweeps").glob("*.study.yaml"))
    assert studies and all(StudyText.load(path).limits for path in studies)


def test_the_matched_step_sweep_uses_the_learning_rates_the_analysis_computes_from_the_tuning_runs():
    from altgrad.runs import ExperimentDataLoader
    from altgrad.study import OptimizerComparator, Study
    _, _, runs = load_sweep(ROOT / "configs" / "sweeps" / "v2_matched.yaml")
    swept = {r.overrides["recipe"]["name"]: r.overrides["learning_rate"] for r in runs}
    loader = ExperimentDataLoader(ROOT / "results" / "v2")
    # only the runs the rate depends on: the stored-weight AdamW and ManifoldAdamW (update) runs
    loader.run_dirs = lambda: sorted(p for p in (ROOT / "results" / "v2").iterdir()
                                     if "_uniform_adamw_stored_lr" in p.name or "_uniform_manifold_update_stored" in p.name)
    optimizers = OptimizerComparator(Study(loader.load()))
    for fmt, lr in swept.items():
        computed = optimizers.matched_learning_rate(fmt)
        assert f"{computed:.1e}" == f"{lr:.1e}", (fmt, computed, lr)  # the file gives two significant digits


def _two_run_sweep(tmp_path) -> Path:
    sweep = tmp_path / "s.yaml"
    sweep.write_text("base: e5m2_short.yaml\ngrids:\n"
                     "  - {format: [E5M2, bf16], optimizer: [adamw], placement: [uniform], seed: [1]}\n")
    return sweep


@fault('a sweep run again into its folder with other settings',
       "refused, naming runs and keys; `sweep.json` keeps the earlier runs' log",
       'nothing')
def test_a_rerun_with_other_settings_is_refused_and_the_log_keeps_earlier_runs(tmp_path):
    import pytest
    sweep = _two_run_sweep(tmp_path)
    first = run_sweep(sweep, tmp_path / "runs", **TINY)
    assert first["ran"] == 2
    with pytest.raises(ValueError, match=r"holds runs of other settings.*learning_rate: 0.001 -> 0.002"):
        run_sweep(sweep, tmp_path / "runs", **TINY | dict(learning_rate=0.002))
    again = run_sweep(sweep, tmp_path / "runs", **TINY)  # the same settings: nothing to do
    assert again["ran"] == 0 and again["per_run"].keys() == first["per_run"].keys()
    assert json.loads((tmp_path / "runs" / "sweep.json").read_text())["per_run"] == first["per_run"]


@fault('a failed run in a sweep; `--stop-after -5`',
       'the sweep exits 1; refused',
       'nothing')
def test_the_command_exits_non_zero_when_a_run_failed_and_checks_stop_after(tmp_path, monkeypatch):
    import pytest
    from altgrad import sweep as sweep_module
    monkeypatch.setattr(sweep_module, "run_sweep", lambda *a, **k: dict(failed=[dict(name="x")], interrupted=[]))
    with pytest.raises(SystemExit) as stopped:
        sweep_module.main(["s.yaml", "--out", str(tmp_path)])
    assert stopped.value.code == 1
    with pytest.raises(SystemExit) as stopped:
        sweep_module.main(["s.yaml", "--out", str(tmp_path), "--stop-after", "-5"])
    assert stopped.value.code == 2
    with pytest.raises(ValueError, match="stop_after must be a number of seconds >= 0"):
        run_sweep(_two_run_sweep(tmp_path), tmp_path / "runs", stop_after=-5, **TINY)


def _children(pid: int) -> list[int]:
    "The pids whose parent is `pid` (Linux /proc)."
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try: fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError: continue
        if int(fields[1]) == pid: out.append(int(stat.parent.name))
    return out


@fault("kill -9 of a sweep's main process; Ctrl-C in a sweep",
       'its workers die with it; each running run saves its step, exit 130, the same command continues',
       'nothing')
def test_workers_die_with_their_sweep_and_ctrl_c_saves_every_running_run(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time
    sweep = _two_run_sweep(tmp_path)
    settings = TINY | dict(max_steps=40, eval_interval=20, diagnostic_interval=1000)
    args = [sys.executable, "-m", "altgrad.sweep", str(sweep), "--out", str(tmp_path / "runs"), "--workers", "2",
            *[f"{k}={v}" for k, v in settings.items()]]
    started = lambda: [p for p in (tmp_path / "runs").glob("*/metrics.jsonl") if p.stat().st_size > 0]
    # killed: its workers go with it
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    deadline = time.time() + 240
    while len(started()) < 2 and time.time() < deadline and process.poll() is None: time.sleep(0.2)
    workers = _children(process.pid)
    process.kill(); process.wait()
    time.sleep(2)
    alive = [w for w in workers if Path(f"/proc/{w}").exists()
             and Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    assert workers and alive == [], (workers, alive)
    # Ctrl-C (SIGINT to the whole process group, as a terminal sends it): runs save their step, exit 130
    process = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    lengths = lambda: [len(p.read_text().splitlines()) for p in (tmp_path / "runs").glob("*/metrics.jsonl")]
    before = lengths()
    while lengths() == before and time.time() < deadline and process.poll() is None: time.sleep(0.2)
    os.killpg(process.pid, signal.SIGINT)
    assert process.wait(timeout=120) == 130
    stderr = process.stderr.read()
    assert "stopped by Ctrl-C" in stderr and "Traceback" not in stderr, stderr[-3000:]
    log = json.loads((tmp_path / "runs" / "sweep.json").read_text())
    assert log["interrupted"] and log["failed"] == []
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    for run in (tmp_path / "runs").iterdir():
        if run.is_dir():
            steps = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
            assert steps == sorted(set(steps)) and steps[-1] == 39, run.name


def test_a_bad_value_in_a_grid_is_named_with_its_file_and_run(tmp_path):
    import pytest
    sweep = tmp_path / "s.yaml"
    sweep.write_text("base: e5m2_short.yaml\ngrids:\n"
                     "  - {format: [bf16], optimizer: [adamw], placement: [uniform], seed: [x]}\n")
    with pytest.raises(ValueError, match=r"s.yaml: grid 0, run .*'seed': 'x'.*invalid literal"):
        load_sweep(sweep)

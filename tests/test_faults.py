"""Fault injection on the CPU: whatever happens to a run (kill -9 while training or while writing a checkpoint, a
damaged checkpoint, a full disk, a read-only directory, a second writer, torn metrics lines, a wrong runs_dir for the
analysis), no finished work is lost, and re-running the same command finishes the run with the numbers an
uninterrupted run gets. The reference run and the rerun after a kill go through the installed `altgrad-train`
command, as a user would start them; the other reruns call the same `main` in this process (no interpreter and torch
start-up each: the suite's time on 2 cores is mostly start-ups)."""
import errno
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from altgrad.config import load_config
from altgrad.files import WriteError
from altgrad.runner import FormatExperimentRunner
from altgrad.files import read_metrics
from altgrad.rundir import CheckpointManager
from fault_table import fault, table

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=2, max_steps=12, warmup_steps=2,
            eval_interval=4, eval_iters=1, log_interval=1, checkpoint_interval=3, diagnostic_interval=4, device="cpu")
TIMING = {"step_ms", "tokens_per_s"}  # the only metrics allowed to differ between attempts

# Runs the runner's command line in a fresh process, killing itself (SIGKILL: no cleanup of any kind) before
# training step N ("step N") or half-way through writing the checkpoint of step N ("checkpoint N").
KILLER = textwrap.dedent("""
    import io, os, signal, sys
    import torch
    from altgrad import rundir, runner, train
    mode, when, argv = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    if mode == "finish":  # after the last checkpoint, before summary.json
        rundir.RunTracker.finish = lambda self, summary: os.kill(os.getpid(), signal.SIGKILL)
    elif mode == "interrupt":  # a Ctrl-C while step N trains
        train_step = train.Trainer.train_step
        def interrupted_step(self):
            if self.step == when: os.kill(os.getpid(), signal.SIGINT)
            return train_step(self)
        train.Trainer.train_step = interrupted_step
    elif mode == "step":
        train_step = train.Trainer.train_step
        def dying_step(self):
            if self.step == when: os.kill(os.getpid(), signal.SIGKILL)
            return train_step(self)
        train.Trainer.train_step = dying_step
    else:
        save = torch.save
        def dying_save(obj, f, *args, **kwargs):
            if isinstance(obj, dict) and obj.get("step") == when:
                whole = io.BytesIO(); save(obj, whole)
                f.write(whole.getvalue()[: len(whole.getvalue()) // 2]); f.flush(); os.fsync(f.fileno())
                os.kill(os.getpid(), signal.SIGKILL)
            return save(obj, f, *args, **kwargs)
        torch.save = dying_save
    runner.main(argv)
""")


def command_line(tmp_path: Path, name: str, **extra) -> list[str]:
    settings = TINY | dict(checkpoint_dir=str(tmp_path), run_name=name) | extra
    return ["e7m0_uniform"] + [f"{k}={v}" for k, v in settings.items()]


def altgrad_train(args: list[str], check: bool = True) -> subprocess.CompletedProcess:
    "The installed console script, as a user runs it."
    exe = shutil.which("altgrad-train")
    assert exe, "altgrad-train is not installed (pip install -e . must install the console script)"
    done = subprocess.run([exe, *args], cwd=ROOT, capture_output=True, text=True, timeout=300)
    if check: assert done.returncode == 0, done.stderr[-3000:]
    return done


def altgrad_train_here(args: list[str], capsys) -> tuple[int, str]:
    "The command's `main` in this process: (exit status, what it wrote to standard error)."
    from altgrad import runner
    capsys.readouterr()  # what came before is not this run's
    try:
        runner.main(args)
        status = 0
    except SystemExit as e:
        status = e.code
    return status, capsys.readouterr().err


def killed(mode: str, when: int, args: list[str], status: int = -9) -> str:
    "Run the command under KILLER; returns its standard error."
    done = subprocess.run([sys.executable, "-c", KILLER, mode, str(when), *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == status, f"meant to end with {status}, exit {done.returncode}: {done.stderr[-2000:]}"
    return done.stderr


def records(run_dir: Path) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in TIMING} for r in read_metrics(run_dir)]


def final_weights(run_dir: Path) -> dict:
    return CheckpointManager.load(run_dir / "checkpoints" / "step_0000012.pt")["model"]


def same_run(run_dir: Path, reference: Path):
    "Metrics record for record (no step twice, none missing) and the final weights bit for bit."
    got, want = records(run_dir), records(reference)
    assert [r["step"] for r in got] == [r["step"] for r in want]
    assert got == want
    a, b = final_weights(run_dir), final_weights(reference)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert json.loads((run_dir / "summary.json").read_text())["steps"] == 12
    assert not list(run_dir.rglob("*.tmp")) and not (run_dir / ".lock").exists()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    "An uninterrupted run: what every interrupted one must end up as."
    root = tmp_path_factory.mktemp("reference")
    altgrad_train(command_line(root, "run"))
    return root / "run"


def test_the_console_script_runs_the_full_experiment(reference):
    summary = json.loads((reference / "summary.json").read_text())
    assert summary["result"]["formats"] == ["E7M0"] and summary["completed"]
    assert (reference / "curves.png").exists()
    assert any(k.startswith("diag/") for r in read_metrics(reference) for k in r)  # the runner's diagnostics


@fault('kill -9 during a training step',
       "the same command resumes from the newest checkpoint; metrics and weights equal an uninterrupted run's",
       'nothing (the steps since that checkpoint train again)')

def test_kill_during_training_then_rerun(tmp_path, reference):
    args = command_line(tmp_path, "run")
    killed("step", 7, args)  # checkpoints of steps 3 and 6 exist; steps 6 and 7 were logged, 7 half done
    with open(tmp_path / "run" / "metrics.jsonl", "a") as f: f.write('{"step": 7, "loss": 4.1')  # a torn last line
    rerun = altgrad_train(args)
    assert "was left behind" in rerun.stderr and "from step_0000006.pt" in rerun.stderr
    assert all(json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines())
    same_run(tmp_path / "run", reference)


@fault('kill -9 while a checkpoint is written',
       'the half-written file never replaces anything; the rerun resumes from the one before',
       'nothing')
def test_kill_during_a_checkpoint_write_then_rerun(tmp_path, reference, capsys):
    args = command_line(tmp_path, "run")
    killed("checkpoint", 6, args)  # half of step 6's checkpoint is on disk under a temporary name
    assert list((tmp_path / "run" / "checkpoints").glob(".step_0000006.pt.*.tmp"))
    status, stderr = altgrad_train_here(args, capsys)
    assert status == 0 and "from step_0000003.pt" in stderr
    same_run(tmp_path / "run", reference)


@fault('the newest checkpoint damaged',
       'the rerun names it and resumes from an older one',
       'nothing')
def test_a_damaged_newest_checkpoint_falls_back_to_an_older_one(tmp_path, reference, capsys):
    args = command_line(tmp_path, "run")
    killed("step", 10, args)  # keeps the checkpoints of steps 6 and 9
    newest = tmp_path / "run" / "checkpoints" / "step_0000009.pt"
    newest.write_bytes(newest.read_bytes()[:1000])  # a disk error, a bad copy
    status, stderr = altgrad_train_here(args, capsys)
    assert status == 0 and "step_0000009.pt is damaged" in stderr and "from step_0000006.pt" in stderr
    same_run(tmp_path / "run", reference)


@fault("a second command on a running run's directory",
       "refused, naming the first one's pid and command; once the first is gone the directory is free",
       'nothing')
def test_a_second_writer_is_refused_and_a_dead_ones_lock_taken_over(tmp_path, reference, capsys):
    args = command_line(tmp_path, "run")
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from altgrad.files import DirectoryLock; "
                               "DirectoryLock(sys.argv[1]).acquire(); print('locked', flush=True); time.sleep(120)",
                               str(tmp_path / "run")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        status, stderr = altgrad_train_here(args, capsys)
        assert status == 2 and f"in use by pid {holder.pid}" in stderr
    finally:
        holder.kill(); holder.wait()
    assert not (tmp_path / "run" / "metrics.jsonl").exists()  # the refused run wrote nothing
    status, stderr = altgrad_train_here(args, capsys)
    assert status == 0 and "was left behind" in stderr
    same_run(tmp_path / "run", reference)


@fault('the same run directory with a changed config',
       'refused, naming the keys; `resume: never` starts a fresh run beside it',
       'nothing')
def test_a_changed_config_is_refused_and_resume_never_starts_beside_it(tmp_path, reference, capsys):
    args = command_line(tmp_path, "run")
    shutil.copytree(reference, tmp_path / "run")  # a finished run (checkpoint_dir may differ: it is operational)
    status, stderr = altgrad_train_here(args + ["learning_rate=0.003"], capsys)
    assert status == 2 and "learning_rate: 0.001 -> 0.003" in stderr
    status, stderr = altgrad_train_here(args, capsys)  # the same command on a finished run: nothing to do, nothing changed
    assert status == 0 and "nothing to do" in stderr
    same_run(tmp_path / "run", reference)
    assert altgrad_train_here(args + ["resume=never", "learning_rate=0.003"], capsys)[0] == 0
    assert json.loads((tmp_path / "run-2" / "summary.json").read_text())["run_name"] == "run-2"
    same_run(tmp_path / "run", reference)  # the old run is untouched


def full_disk_at(step: int):
    "A torch.save that writes part of the checkpoint of `step`, then finds the disk full."
    save = torch.save
    def save_until_full(obj, f, *args, **kwargs):
        if isinstance(obj, dict) and obj.get("step") == step:
            f.write(b"\0" * 4096)
            raise OSError(errno.ENOSPC, "No space left on device")
        return save(obj, f, *args, **kwargs)
    return save_until_full


@fault('the disk fills while a checkpoint is written',
       'the run stops naming the file, the reason and the free space; the rerun finishes it',
       'nothing')
def test_a_full_disk_stops_the_run_with_its_reason_and_loses_nothing(tmp_path, monkeypatch):
    config = load_config("e7m0_uniform", **TINY, checkpoint_dir=str(tmp_path), run_name="run")
    with monkeypatch.context() as patch:
        patch.setattr(torch, "save", full_disk_at(6))
        with pytest.raises(WriteError, match=r"could not write .*step_0000006.pt: No space left on device"):
            FormatExperimentRunner(config).run(progress=False)
    run = tmp_path / "run"
    assert not list(run.rglob("*.tmp")) and not (run / ".lock").exists()
    assert CheckpointManager.load(run / "checkpoints" / "step_0000003.pt")["step"] == 3
    assert [r["step"] for r in read_metrics(run)] == list(range(6))
    result = FormatExperimentRunner(config).run(progress=False)  # space freed: the same run finishes
    assert result.completed and [r["step"] for r in read_metrics(run)] == list(range(12))


@fault('a read-only run directory',
       'the run stops naming it',
       'nothing')
def test_a_read_only_run_directory_is_named(tmp_path, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    if os.geteuid() != 0:
        run.chmod(0o555)
    else:  # root writes anywhere: refuse writes into the directory the way a read-only mount does
        import altgrad.files
        def read_only_open(path, mode="r", *args, **kwargs):
            if Path(path).parent == run and any(m in mode for m in "wax+"):
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
            return open(path, mode, *args, **kwargs)
        monkeypatch.setattr(altgrad.files, "open", read_only_open, raising=False)
    try:
        config = load_config("e7m0_uniform", **TINY, checkpoint_dir=str(tmp_path), run_name="run")
        with pytest.raises(OSError, match=r"(could not write .*run.*Permission denied)|(Permission denied.*run)"):
            FormatExperimentRunner(config).run(progress=False)
    finally:
        run.chmod(0o755)
    assert not list(run.rglob("*.tmp"))


@fault('the analysis given a folder without runs',
       'refused; the reports stay as they were',
       'nothing')
def test_the_analysis_refuses_a_wrong_runs_dir_and_keeps_the_reports(tmp_path):
    papermill = pytest.importorskip("papermill")
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "format_comparison.md").write_text("the committed report")
    with pytest.raises(papermill.PapermillExecutionError, match="no runs found under"):
        papermill.execute_notebook(str(ROOT / "nbs" / "analysis.ipynb"), str(tmp_path / "out.ipynb"),
                                   parameters=dict(runs_dir=str(ROOT / "results" / "stdy"), reports_dir=str(reports)),
                                   cwd=str(ROOT), kernel_name="python3", progress_bar=False)
    assert (reports / "format_comparison.md").read_text() == "the committed report"


@fault('two analyses writing the reports at once',
       'the second is refused',
       'nothing')
def test_a_second_writer_of_the_reports_is_refused(tmp_path, reference):
    from altgrad.report import ReportGenerator
    from altgrad.runs import ExperimentDataLoader
    from altgrad.files import DirectoryLock, LockedError
    runs = ExperimentDataLoader(reference.parent).load()
    with DirectoryLock(tmp_path / "reports", "reports folder"):
        with pytest.raises(LockedError, match="reports folder"):
            ReportGenerator(runs, reference.parent).write(tmp_path / "reports")
    assert sorted(ReportGenerator(runs, reference.parent).write(tmp_path / "reports")) == [
        "failure_modes.md", "format_comparison.md", "manifold_comparison.md"]


def _contend(dirs: list[str], barrier, results, index: int):
    "One of several processes trying every directory's lock at once (a race test's worker)."
    from altgrad.files import DirectoryLock, LockedError
    for d in dirs:
        barrier.wait()  # all contenders try together
        try:
            lock, got = DirectoryLock(d).acquire(), True
        except LockedError:
            got = False
        barrier.wait()  # every contender has tried while the winner still holds the lock
        if got: lock.release()
        results.put((d, index, got))


@fault("a killed run's lock raced by 4 processes, 1,000 times",
       'each time exactly one takes the directory',
       'nothing')
def test_a_stale_lock_raced_by_many_processes_goes_to_exactly_one(tmp_path):
    "1,000 directories, each with the lock file of a killed run; 4 processes try each at the same moment."
    import multiprocessing as mp
    dead = json.dumps(dict(pid=2 ** 22 + 1, host=os.uname().nodename, command="killed run", since="then"))
    dirs = []
    for i in range(1000):
        (tmp_path / str(i)).mkdir()
        (tmp_path / str(i) / ".lock").write_text(dead)
        dirs.append(str(tmp_path / str(i)))
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(4), ctx.Queue()
    workers = [ctx.Process(target=_contend, args=(dirs, barrier, results, i)) for i in range(4)]
    for w in workers: w.start()
    winners = {}
    for _ in range(len(dirs) * len(workers)):
        d, index, got = results.get(timeout=120)
        winners[d] = winners.get(d, 0) + got
    for w in workers: w.join(timeout=60)
    assert sorted(set(winners.values())) == [1]  # never two holders, never none
    assert not any((Path(d) / ".lock").exists() for d in dirs)


@fault('the same command started twice at once after a kill',
       'one trains, the other is refused naming it; one clean run',
       'nothing')
def test_two_commands_started_together_on_a_stale_lock_leave_one_clean_run(tmp_path, reference):
    "A killed run's lock; the same command twice at once."
    run = tmp_path / "run"
    run.mkdir()
    (run / ".lock").write_text(json.dumps(dict(pid=2 ** 22 + 1, host=os.uname().nodename)))
    exe = shutil.which("altgrad-train")
    commands = [command_line(tmp_path, "run")] * 2
    procs = [subprocess.Popen([exe, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for args in commands]
    done = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _ in done)
    refused = [err for code, err in done if code != 0]
    if codes == [0, 0]:  # one finished before the other started: the second found nothing to do
        pytest.skip("the two commands did not overlap on this machine")
    assert codes == [0, 2] and "is in use by pid" in refused[0], refused
    same_run(run, reference)


@fault('kill -9 after the last checkpoint, before `summary.json`; `summary.json` damaged',
       'the rerun evaluates the final weights again and writes it',
       'nothing')
def test_a_kill_before_the_summary_is_written_loses_nothing(tmp_path, reference, capsys):
    "Killed after its last checkpoint, before summary.json; then summary.json damaged: both reruns rebuild it."
    args = command_line(tmp_path, "run")
    killed("finish", 0, args)
    assert not (tmp_path / "run" / "summary.json").exists()
    status, _ = altgrad_train_here(args, capsys)
    assert status == 0
    want = json.loads((reference / "summary.json").read_text())
    for damage in (None, "{torn"):
        if damage:
            (tmp_path / "run" / "summary.json").write_text(damage)
            assert altgrad_train_here(args, capsys)[0] == 0
        got = json.loads((tmp_path / "run" / "summary.json").read_text())
        assert (got["final_val_loss"], got["completed"]) == (want["final_val_loss"], True)
    same_run(tmp_path / "run", reference)


@fault('`metrics.jsonl` deleted under a running run; cut short before a resume',
       'the run stops naming the file; the resume names the missing records and `summary.json` lists them',
       'the records cut away (named)')

def test_metrics_deleted_or_cut_short_are_detected_and_named(tmp_path, reference, capsys):
    args = command_line(tmp_path, "run")
    killed("step", 8, args)  # checkpoint of step 6 on disk, metrics to step 7
    (tmp_path / "run" / "metrics.jsonl").write_text("")  # the file cut short before the resume
    status, stderr = altgrad_train_here(args, capsys)
    assert status == 0 and "lacks the records of steps 0, 1, 2, 3, 4, 5" in stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["missing_metrics"] == [0, 1, 2, 3, 4, 5] and summary["completed"]
    from altgrad import rundir
    log = rundir.RunTracker.log
    def deleting_log(self, metrics):  # the file deleted under the running run
        if metrics.get("step") == 3: self.metrics_path.unlink()
        return log(self, metrics)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rundir.RunTracker, "log", deleting_log)
        status, stderr = altgrad_train_here(command_line(tmp_path, "other"), capsys)
    assert status == 2 and "metrics.jsonl was removed or replaced" in stderr


@fault('a run without checkpoints failing at its very end (a full disk at `curves.png`)',
       'its last step was saved until the summary is written: the rerun finishes without training again',
       'nothing')

def test_a_run_without_checkpoints_that_fails_at_its_end_is_not_trained_again(tmp_path, capsys):
    args = command_line(tmp_path, "run", save_checkpoints=False)
    from altgrad import runner
    with pytest.MonkeyPatch.context() as patch:
        def full_disk(*a, **k): raise WriteError(errno.ENOSPC, "could not write curves.png: No space left")
        patch.setattr(runner, "plot_curves", full_disk)
        status, _ = altgrad_train_here(args, capsys)
    assert status == 2 and (tmp_path / "run" / "checkpoints" / "step_0000012.pt").exists()
    status, stderr = altgrad_train_here(args, capsys)
    assert status == 0 and "from step_0000012.pt" in stderr  # not trained again
    assert not (tmp_path / "run" / "checkpoints").exists()  # the temporary checkpoint is gone with the end


@fault('Ctrl-C during a step, with or without checkpoints',
       'the step finishes and is saved; one line; exit 130; the same command continues',
       'nothing')
@pytest.mark.parametrize("keeps", ["checkpoints", "none"])
def test_ctrl_c_saves_the_step_and_the_rerun_continues_it(tmp_path, reference, capsys, keeps):
    "SIGINT during step 7 of 12: the step finishes and is saved, one line, exit 130; the rerun ends as the reference."
    extra = {} if keeps == "checkpoints" else dict(save_checkpoints=False)
    args = command_line(tmp_path, "run", **extra)
    stderr = killed("interrupt", 7, args, status=130)
    assert "Traceback" not in stderr and "stopped by Ctrl-C after step 8 of 12; saved" in stderr
    status, stderr = altgrad_train_here(args, capsys)
    assert status == 0 and "from step_0000008.pt" in stderr
    if keeps == "checkpoints":
        same_run(tmp_path / "run", reference)
    else:
        assert records(tmp_path / "run") == records(reference)
        assert not (tmp_path / "run" / "checkpoints").exists()


@fault("`run_name=../x`, `device=mps`, `progress=maybe`, a vocabulary below the tokenizer's, a learning rate that is not a number",
       'refused before anything is written, naming the key',
       'nothing')
@pytest.mark.parametrize("override, message", [
    ("run_name=../escaped", "config key 'run_name' = '../escaped': must be a folder name"),
    ("device=mps", "config key 'device' = 'mps': use auto, cpu or cuda"),
    ("progress=maybe", "progress must be true or false, got 'maybe'"),
    ("vocab_size=256", "config key 'vocab_size' = 256: below the 50257 tokens of the tokenizer"),
    ("learning_rate=1e-3x", "config key 'learning_rate' must be float, got '1e-3x'"),
])
def test_bad_command_line_input_is_refused_naming_the_key(tmp_path, capsys, override, message):
    args = command_line(tmp_path, "run") + [override]
    status, stderr = altgrad_train_here(args, capsys)
    assert status == 2 and message in stderr, stderr[-2000:]
    assert not (tmp_path / "escaped").exists()


@fault('`learning_rate=1e-3`; `device=cpu` on the command line; a key given twice in a config file',
       'a number; recorded in `config.yaml`; refused naming the key and line',
       'nothing')
def test_cli_values_are_the_configs_and_yaml_reads_as_configs_need(tmp_path, capsys):
    "1e-3 is a number and device=cpu is recorded; a key given twice in a config file is refused."
    args = command_line(tmp_path, "run", learning_rate="1e-3", max_steps=2)
    assert altgrad_train_here(args, capsys)[0] == 0
    recorded = (tmp_path / "run" / "config.yaml").read_text()
    assert "learning_rate: 0.001" in recorded and "device: cpu" in recorded
    twice = tmp_path / "twice.yaml"
    twice.write_text("max_steps: 4\nlearning_rate: 0.001\nmax_steps: 8\n")
    status, stderr = altgrad_train_here([str(twice), "device=cpu"], capsys)
    assert status == 2 and "twice.yaml is not valid YAML" in stderr and "the key 'max_steps' is given twice" in stderr


@fault('`resume=PATH` from a checkpoint of another experiment (learning rate, model shape)',
       'refused, naming the keys',
       'nothing')

def test_resume_from_a_checkpoint_of_another_experiment_is_refused(tmp_path, reference, capsys):
    checkpoint = reference / "checkpoints" / "step_0000012.pt"
    for override, key in (("learning_rate=0.002", "learning_rate"), ("n_layer=2", "n_layer")):
        args = command_line(tmp_path, "other", resume=str(checkpoint), max_steps=14) + [override]
        status, stderr = altgrad_train_here(args, capsys)
        assert status == 2 and "is a checkpoint of another experiment" in stderr and key in stderr, stderr[-2000:]
    args = command_line(tmp_path, "other", resume=str(checkpoint), max_steps=14)  # the same experiment, longer
    status, stderr = altgrad_train_here(args, capsys)
    assert status == 0 and json.loads((tmp_path / "other" / "summary.json").read_text())["steps"] == 14


@fault('a damaged `checkpoints/index.json`',
       'rebuilt from the checkpoint files, said; the run resumes',
       'nothing')
def test_a_damaged_checkpoint_index_is_rebuilt_and_the_checkpoints_stay_usable(tmp_path, reference, capsys):
    args = command_line(tmp_path, "run")
    killed("step", 8, args)
    (tmp_path / "run" / "checkpoints" / "index.json").write_text('{"best_val')
    status, stderr = altgrad_train_here(args, capsys)
    assert status == 0 and "index.json is damaged" in stderr and "from step_0000006.pt" in stderr
    same_run(tmp_path / "run", reference)


def test_the_fault_table_in_the_docs_is_the_suites():
    assert (ROOT / "docs" / "faults.md").read_text() == table(), "run python tests/fault_table.py"

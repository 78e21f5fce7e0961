"""Where a run's GPU memory peaks: per phase of the runner's step, per run of a sweep file.

    python bench/memory.py --data-path CORPUS.txt.gz [--sweep configs/sweeps/study.yaml] [--runs NAME ...]
                           [--steps 101] [--out DIR]

Trains each named run of the sweep file (its own config: format, placement, optimizer, diagnostics sampling) for
`steps` steps through FormatExperimentRunner, as a sweep worker would, and records the peak of PyTorch's allocated
and reserved memory in each phase: the forward and backward of a compiled step, of a light sample and of a full
sample (eager, with the quantization counters), each diagnostic reference pass of a full sample, the rest of a
sampled step (update, storing, statistics) and evaluation; what the process holds between steps (and how much of it
the CUDA graphs' pools); and what a run leaves allocated once it is freed as a sweep worker frees it. The peak of a run is what a sweep worker's memory share
must hold; the phase that sets it is what to shrink.
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

import altgrad.probes
from altgrad.config import load_config
from altgrad.runner import FormatExperimentRunner
from altgrad.sweep import load_sweep
from altgrad.train import Hook
from altgrad.build import release_finished_runs
from report import publish

GiB = 2 ** 30
DEFAULT_RUNS = ("bf16_uniform_adamw_s42", "e5m2_uniform_adamw_s42", "e3m4_attn_adamw_s42", "e3m4_lm_head_adamw_s42",
                "e3m4_uniform_manifold_update_s44", "e7m0_uniform_manifold_gradient_s44", "e0m7_uniform_grid_s42")


class PhasePeaks:
    "Peak allocated / reserved GiB per phase: `start(phase)` resets CUDA's peak counters, `stop()` keeps the maxima."

    def __init__(self):
        self.peaks: dict[str, dict[str, float]] = {}
        self.phase: str | None = None

    def start(self, phase: str):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        self.phase = phase

    def stop(self):
        torch.cuda.synchronize()
        self.keep(self.phase, torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved())
        self.phase = None

    def keep(self, phase: str, allocated: int, reserved: int):
        "The larger of what `phase` has seen and these bytes."
        seen = self.peaks.setdefault(phase, dict(allocated=0.0, reserved=0.0, count=0))
        seen["allocated"] = max(seen["allocated"], allocated / GiB)
        seen["reserved"] = max(seen["reserved"], reserved / GiB)
        seen["count"] += 1


class MemoryHook(Hook):
    "Phases of a step: its forward and backward (by sample kind), then the rest of the step."

    def __init__(self, peaks: PhasePeaks, probes):
        self.peaks, self.probes = peaks, probes

    def before_forward(self, trainer, batch):
        kind = self.probes.schedule.kind(trainer.step)
        self.peaks.start(f"step forward+backward ({kind or 'compiled'})")

    def after_backward(self, trainer):
        kind = self.probes.schedule.kind(trainer.step)
        self.peaks.stop()
        self.peaks.start(f"rest of the step ({kind or 'compiled'}; reference passes apart)")

    def end_step(self, trainer):
        if self.peaks.phase: self.peaks.stop()
        self.peaks.keep("held between steps", torch.cuda.memory_allocated(), torch.cuda.memory_reserved())
        # the CUDA graphs' private pools (not the default pool (0, 0)): reserved while the eager passes run
        pools = [s for s in torch.cuda.memory_snapshot() if tuple(s["segment_pool_id"]) != (0, 0)]
        self.peaks.keep("of which CUDA-graph pools", sum(s["allocated_size"] for s in pools),
                        sum(s["total_size"] for s in pools))


def measure(run, data_path: str, steps: int) -> dict:
    torch.cuda.empty_cache()  # no torch._dynamo.reset(): runs follow one another in one process, as in a sweep worker
    peaks = PhasePeaks()
    runner = FormatExperimentRunner(load_config(run.base, **run.settings | run.overrides | dict(
        data_source="text", data_path=data_path, device="cuda", max_steps=steps, run_name=run.name,
        checkpoint_dir=tempfile.mkdtemp(), save_checkpoints=False)))
    trainer = runner.trainer
    probes = next(h for h in trainer.hooks if isinstance(h, altgrad.probes.Probes))
    trainer.hooks.insert(0, MemoryHook(peaks, probes))
    evaluate = trainer.evaluate

    def measured_evaluate():
        outer = peaks.phase
        if outer: peaks.stop()
        peaks.start("evaluation")
        out = evaluate()
        peaks.stop()
        return out
    trainer.evaluate = measured_evaluate
    reference = altgrad.probes.reference_gradients

    def measured_reference(model, x, y, roles=None, **kw):
        outer = peaks.phase
        peaks.stop()
        peaks.start(f"reference pass ({'all roles off, FP32' if roles is None else roles[0] + ' off'})")
        out = reference(model, x, y, **({} if roles is None else dict(roles=roles)), **kw)
        peaks.stop()
        peaks.start(outer)
        return out
    altgrad.probes.reference_gradients = measured_reference
    torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    try: runner.run(progress=False)
    finally: altgrad.probes.reference_gradients = reference
    wall_s, run_peak_reserved = time.perf_counter() - started, torch.cuda.max_memory_reserved() / GiB
    del runner, trainer, probes, evaluate
    release_finished_runs()  # as a sweep worker does after each run: what stays is what the next run inherits
    torch.cuda.empty_cache()
    peaks.keep("left after the run (freed, cache emptied)", torch.cuda.memory_allocated(), torch.cuda.memory_reserved())
    return dict(run=run.name, wall_s=wall_s, run_peak_reserved=run_peak_reserved, phases=peaks.peaks)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-path", required=True)
    parser.add_argument("--sweep", default="configs/sweeps/study.yaml")
    parser.add_argument("--runs", nargs="*", default=list(DEFAULT_RUNS))
    parser.add_argument("--steps", type=int, default=101)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    runs = {r.name: r for r in load_sweep(args.sweep)[2]}
    unknown = [n for n in args.runs if n not in runs]
    if unknown: raise SystemExit(f"not runs of {args.sweep}: {unknown}")
    results = []
    for name in args.runs:
        results.append(measure(runs[name], args.data_path, args.steps))
        print(json.dumps(results[-1]), flush=True)
    text = (f"# Peak GPU memory per phase of a run on {torch.cuda.get_device_name()}\n\nRuns of `{args.sweep}` "
            f"({args.steps} steps each, one at a time in one process, CUDA graphs as in a sweep), peak GiB allocated "
            f"/ reserved by PyTorch in each phase (`python bench/memory.py`).\n\n")
    phases = sorted({p for r in results for p in r["phases"]})
    text += "| phase | " + " | ".join(r["run"] for r in results) + " |\n|---|" + "---|" * len(results) + "\n"
    for phase in phases:
        cells = [r["phases"].get(phase) for r in results]
        text += f"| {phase} | " + " | ".join("—" if c is None else f"{c['allocated']:.2f} / {c['reserved']:.2f}"
                                            for c in cells) + " |\n"
    publish(text, args.out, "memory", results)


if __name__ == "__main__":
    main()

"""Where a study run's GPU time goes, kernel by kernel: plain compiled steps against one full diagnostic sample.

Run from the repository root on a CUDA machine:
    python bench/step_profile.py --data-path CORPUS.txt.gz [--run e5m2_uniform_adamw_s42] [--out DIR]

Trains the named run of the study file (its config: model, recipe, optimizer, diagnostics sampling) through
FormatExperimentRunner's hooks up to its second full sample, then profiles (torch.profiler, CUDA activity) ten plain
steps just before that sample and the sample's step itself. Writes `step_profile.md`: GPU time per step and the
kernels that take it, grouped by kernel name, for each of the two.
"""
import argparse
import tempfile
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

from altgrad.config import load_config
from altgrad.runner import FormatExperimentRunner
from altgrad.sweep import load_sweep


def kernel_table(prof, steps: int, rows: int) -> tuple[float, str]:
    "(GPU ms per step, a markdown table of the kernels with the most GPU time per step)."
    events = [e for e in prof.key_averages() if e.device_type == torch.autograd.DeviceType.CUDA]
    total_us = sum(e.self_device_time_total for e in events)
    lines = ["| kernel | ms per step | share | calls per step |", "|---|---|---|---|"]
    for e in sorted(events, key=lambda e: -e.self_device_time_total)[:rows]:
        name = e.key if len(e.key) <= 90 else e.key[:87] + "..."
        lines.append(f"| `{name.replace('|', '/')}` | {e.self_device_time_total / 1e3 / steps:.3f} | "
                     f"{e.self_device_time_total / total_us:.1%} | {e.count / steps:g} |")
    return total_us / 1e3 / steps, "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-path", required=True)
    parser.add_argument("--sweep", default="configs/sweeps/study.yaml")
    parser.add_argument("--run", default="e5m2_uniform_adamw_s42")
    parser.add_argument("--rows", type=int, default=25)
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args()
    runs = {r.name: r for r in load_sweep(args.sweep)[2]}
    spec = runs[args.run]
    config = spec.config()
    full_every = config.diagnostic_interval * config.full_diagnostic_every  # steps between full samples
    with tempfile.TemporaryDirectory() as out:
        settings = spec.settings | spec.overrides | dict(data_source="text", data_path=args.data_path,
                                                         checkpoint_dir=out, run_name=args.run, wandb_mode="disabled")
        runner = FormatExperimentRunner(load_config(spec.base, **settings))
        trainer = runner.trainer
        while trainer.step < full_every - 10: trainer.train_step()  # compiles, records CUDA graphs, first samples
        sections = []
        for label, steps in (("plain compiled steps", 10), ("the full diagnostic sample's step", 1)):
            torch.cuda.synchronize()
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                walls = [trainer.train_step()["step_ms"] for _ in range(steps)]
            torch.cuda.synchronize()
            gpu_ms, table = kernel_table(prof, steps, args.rows)
            sections.append(f"## {label} (step {trainer.step - steps}{'' if steps == 1 else f'-{trainer.step - 1}'})\n\n"
                            f"GPU time {gpu_ms:.2f} ms per step; wall (step_ms, profiled) {sum(walls) / steps:.2f} ms "
                            f"per step.\n\n{table}\n")
            print(sections[-1], flush=True)
    device = torch.cuda.get_device_name()
    text = (f"# A study run's GPU time by kernel — {device}\n\n`python bench/step_profile.py --run {args.run}` "
            f"(torch {torch.__version__}): {args.run} of `{args.sweep}` alone on the GPU, run to step "
            f"{full_every - 10}, then profiled.\n\n" + "\n".join(sections))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "step_profile.md").write_text(text)


if __name__ == "__main__":
    main()

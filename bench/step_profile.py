"""Where a study run's GPU time goes, kernel by kernel: plain compiled steps against one full diagnostic sample.

Run from the repository root on a CUDA machine:
    python bench/step_profile.py --data-path CORPUS.txt.gz [--run e5m2_uniform_adamw_s42] [--out DIR]

Trains the named run of the study file (its config: model, recipe, optimizer, diagnostics sampling) through
FormatExperimentRunner's hooks up to its second full sample, then profiles (torch.profiler, CUDA activity) ten plain
steps just before that sample and the sample's step itself. Writes `step_profile.md`: GPU time per step and the
kernels that take it, grouped by kernel name, for each of the two, with the source nodes Inductor names for each of its
Triton kernels (the variables of the code it compiled: which quantizer, which loss); with `--phases` also the next
full sample's GPU time per part (its own forward and backward, each reference pass, rank health, the other
statistics). `step_profile_losses.json` holds every step's training loss: two runs under other `--inductor` settings
(Inductor's config, KEY=VALUE) compare bit for bit.
"""
import argparse
import functools
import json
import logging
import re
import tempfile
from pathlib import Path

import torch
import torch._inductor.config
import yaml
from torch.profiler import ProfilerActivity, profile, record_function

import altgrad.probes
from altgrad.config import load_config
from altgrad.probes import Probes
from altgrad.runner import FormatExperimentRunner, StabilityHook
from altgrad.sweep import load_sweep

PHASE = "phase: "  # the prefix of this script's profiler ranges


class KernelSources(logging.Handler):
    """Inductor's generated code as it is logged (the `output_code` artifact): the source nodes of each Triton
    kernel, from the comment Inductor writes above its definition and its launch; `code`, every graph's code."""
    NODES = re.compile(r"# Topologically Sorted Source Nodes: \[(.*?)\]")
    KERNEL = re.compile(r"\b(triton_\w+)(?: = async_compile\.triton\(|\.run\()")

    def __init__(self):
        super().__init__()
        self.nodes: dict[str, str] = {}
        self.code: list[str] = []

    def emit(self, record):
        pending = None
        self.code.append(record.getMessage())
        for line in self.code[-1].splitlines():
            if found := self.NODES.search(line): pending = found.group(1)
            elif pending and (found := self.KERNEL.search(line)):
                self.nodes.setdefault(found.group(1), pending)
                pending = None

    @classmethod
    def attach(cls) -> "KernelSources":
        "Turn the artifact on and collect it here instead of printing it (it is the whole generated code)."
        torch._logging.set_logs(output_code=True)  # its records stop at torch._inductor's logger, whose handler prints
        is_code = lambda record: "__output_code" in record.name
        inductor_logger, handler = logging.getLogger("torch._inductor"), cls()
        for printer in inductor_logger.handlers: printer.addFilter(lambda record: not is_code(record))
        handler.addFilter(is_code)
        inductor_logger.addHandler(handler)
        return handler


_open_phases = [0]


def _phased(label, fn, outermost_only: bool = False):
    "`fn` in a profiler range named PHASE + label (label: a string, or a function of fn's arguments), synchronized at both ends."
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if outermost_only and _open_phases[0]: return fn(*args, **kwargs)
        torch.cuda.synchronize()  # what was launched before belongs to the phase before
        _open_phases[0] += 1
        try:
            with record_function(PHASE + (label if isinstance(label, str) else label(*args, **kwargs))):
                result = fn(*args, **kwargs)
                torch.cuda.synchronize()  # the range ends when its kernels have
                return result
        finally:
            _open_phases[0] -= 1
    return wrapper


def _reference_label(model, x, y, roles=None, autocast=None, rng_state=None, micro_batches=1):
    return "reference pass: FP32, nothing quantized" if roles is None else f"reference pass: {'/'.join(roles)} unquantized"


def mark_phases(trainer):
    "Wrap the parts of a step (the diagnostics' passes and statistics, forward, backward, optimizer) in named ranges."
    for name, label in (("reference_gradients", _reference_label), ("rank_health_of", "rank health"),
                        ("gradient_fidelity", "gradient fidelity"), ("gradient_norms", "gradient norms"),
                        ("zero_update_fraction", "zero updates"), ("ulp_statistics", "ULP statistics"),
                        ("gradient_stiffness_correlation", "stiffness correlation"), ("read_back", "read back")):
        setattr(altgrad.probes, name, _phased(label, getattr(altgrad.probes, name)))
    for event in ("before_forward", "after_backward", "before_update", "after_update", "after_store", "end_step"):
        setattr(Probes, event, _phased(f"probes.{event} (rest)", getattr(Probes, event)))
    StabilityHook.after_backward = _phased("clipping", StabilityHook.after_backward)
    trainer.model.forward = _phased("forward", trainer.model.forward, outermost_only=True)
    torch.Tensor.backward = _phased("backward", torch.Tensor.backward, outermost_only=True)
    trainer.optimizer.step = _phased("optimizer step", trainer.optimizer.step)


def phase_table(prof) -> str:
    "GPU time per phase: each kernel counts for the innermost phase range it started in."
    ranges = [(e.time_range.start, e.time_range.end, e.name[len(PHASE):]) for e in prof.events()
              if e.device_type == torch.autograd.DeviceType.CPU and e.name.startswith(PHASE)]
    gpu, wall, calls = {}, {}, {}
    for start, end, name in ranges:
        wall[name], calls[name] = wall.get(name, 0) + end - start, calls.get(name, 0) + 1
    for e in prof.events():
        if e.device_type != torch.autograd.DeviceType.CUDA or e.name.startswith(PHASE): continue
        inside = [r for r in ranges if r[0] <= e.time_range.start <= r[1]]
        name = min(inside, key=lambda r: r[1] - r[0])[2] if inside else "outside the phases"
        gpu[name] = gpu.get(name, 0) + e.time_range.elapsed_us()
    total = sum(gpu.values())
    lines = ["| phase | GPU ms | share | calls | wall ms (with its inner phases, synchronized) |", "|---|---|---|---|---|"]
    for name in sorted(gpu, key=lambda n: -gpu[n]):
        range_wall = f"{wall[name] / 1e3:.1f}" if name in wall else "-"
        lines.append(f"| {name} | {gpu[name] / 1e3:.2f} | {gpu[name] / total:.1%} | {calls.get(name, '-')} | {range_wall} |")
    return "\n".join(lines)


def kernel_table(prof, steps: int, rows: int, sources: dict[str, str], nodes_width: int = 120) -> tuple[float, str]:
    """(GPU ms per step, a markdown table of the kernels with the most GPU time per step and their source nodes, cut
    to `nodes_width` characters)."""
    events = [e for e in prof.key_averages()
              if e.device_type == torch.autograd.DeviceType.CUDA and not e.key.startswith(PHASE)]
    total_us = sum(e.self_device_time_total for e in events)
    lines = ["| kernel | ms per step | share | calls per step | source nodes (Inductor's) |", "|---|---|---|---|---|"]
    for e in sorted(events, key=lambda e: -e.self_device_time_total)[:rows]:
        name = e.key if len(e.key) <= 90 else e.key[:60] + "..." + e.key[-27:]  # Inductor's names differ at the end
        nodes = sources.get(e.key, "")
        nodes = nodes if len(nodes) <= nodes_width else nodes[:nodes_width - 3] + "..."
        lines.append(f"| `{name.replace('|', '/')}` | {e.self_device_time_total / 1e3 / steps:.3f} | "
                     f"{e.self_device_time_total / total_us:.1%} | {e.count / steps:g} | {nodes.replace('|', '/')} |")
    return total_us / 1e3 / steps, "\n".join(lines)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-path", required=True)
    parser.add_argument("--sweep", default="configs/sweeps/study.yaml")
    parser.add_argument("--run", default="e5m2_uniform_adamw_s42")
    parser.add_argument("--rows", type=int, default=25)
    parser.add_argument("--out", type=Path, default=Path("."))
    parser.add_argument("--inductor", nargs="*", default=[], metavar="KEY=VALUE",
                        help="Inductor settings for this run (torch._inductor.config), e.g. triton.prefer_nd_tiling=True")
    parser.add_argument("--phases", action="store_true",
                        help="also profile the next full sample with its parts (reference passes, rank health, ...) "
                             "in named ranges: GPU time per part")
    args = parser.parse_args()
    for setting in args.inductor:
        key, _, value = setting.partition("=")
        *modules, name = key.split(".")  # e.g. triton.prefer_nd_tiling: torch._inductor.config.triton's
        setattr(functools.reduce(getattr, modules, torch._inductor.config), name, yaml.safe_load(value))
    runs = {r.name: r for r in load_sweep(args.sweep)[2]}
    spec = runs[args.run]
    config = spec.config()
    full_every = config.diagnostic_interval * config.full_diagnostic_every  # steps between full samples
    sources = KernelSources.attach()
    with tempfile.TemporaryDirectory() as out:
        settings = spec.settings | spec.overrides | dict(data_source="text", data_path=args.data_path,
                                                         checkpoint_dir=out, run_name=args.run, wandb_mode="disabled")
        runner = FormatExperimentRunner(load_config(spec.base, **settings))
        trainer = runner.trainer
        losses = []  # every step's training loss, to compare runs under other settings bit for bit

        def train_step() -> float:
            metrics = trainer.train_step()
            losses.append(metrics["loss"])
            return metrics["step_ms"]

        while trainer.step < full_every - 10: train_step()  # compiles, records CUDA graphs, first samples
        sections = []
        for label, steps in (("plain compiled steps", 10), ("the full diagnostic sample's step", 1)):
            torch.cuda.synchronize()
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                walls = [train_step() for _ in range(steps)]
            torch.cuda.synchronize()
            gpu_ms, table = kernel_table(prof, steps, args.rows, sources.nodes)
            sections.append(f"## {label} (step {trainer.step - steps}{'' if steps == 1 else f'-{trainer.step - 1}'})\n\n"
                            f"GPU time {gpu_ms:.2f} ms per step; wall (step_ms, profiled) {sum(walls) / steps:.2f} ms "
                            f"per step.\n\n{table}\n")
            print(sections[-1], flush=True)
        if args.phases:  # the next full sample, its parts in ranges (synchronized at their ends: wall is not a step's)
            while trainer.step % full_every: train_step()
            mark_phases(trainer)
            torch.cuda.synchronize()
            with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
                train_step()
            sections.append(f"## the full diagnostic sample by phase (step {trainer.step - 1})\n\n{phase_table(prof)}\n")
            print(sections[-1], flush=True)
    device = torch.cuda.get_device_name()
    text = (f"# A study run's GPU time by kernel — {device}\n\n`python bench/step_profile.py --run {args.run}` "
            f"{''.join(' --inductor ' + s for s in args.inductor)} (torch {torch.__version__}): {args.run} of "
            f"`{args.sweep}` alone on the GPU, run to step "
            f"{full_every - 10}, then profiled.\n\n" + "\n".join(sections))
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "step_profile.md").write_text(text)
    (args.out / "step_profile_losses.json").write_text(json.dumps(losses))


if __name__ == "__main__":
    main()

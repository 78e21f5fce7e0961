"""Cost of the runner's diagnostics on a GPU.

    python bench/diagnostics.py --data-path CORPUS.txt.gz [--out DIR] [--format E5M2] [--steps 1200]
                                [--sampling INTERVAL:FULL_EVERY ...]

Trains e5m2_short's model for `steps` steps through FormatExperimentRunner's hooks: with diagnostic_interval
past the run (no sampled steps; run first and last), with the library's default sampling (a sample every 100
steps, every 4th of them full) and with the failure-mode configs' sampling (every 50 steps, every 2nd full). Reports each
run's mean step time (sampled steps included) against the runs without diagnostics and against its own unsampled
steps, the time of a light and of a full sample, and where a sample's hook time goes. `--sampling` adds other
samplings to compare (a sample every INTERVAL steps, every FULL_EVERY-th of them full; give `--steps` a multiple of
INTERVAL x FULL_EVERY so that each counts whole cycles). Target (issue 11): <= 1.05x at the defaults.
"""
import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from altgrad.config import TrainConfig, load_config
from altgrad.probes import Probes
from altgrad.runner import StabilityHook
from altgrad.train import Trainer
from altgrad.build import prepare_data
from report import publish


def timed_hooks(probes: Probes, totals: dict):
    """Wrap the probes' events so each adds its wall time (GPU work included: synchronized) to
    totals[(kind, event)], kind "light" or "full" sample."""
    for event in ("before_forward", "after_backward", "before_update", "after_update", "after_store", "end_step"):
        method = getattr(probes, event)
        def timed(trainer, *args, method=method, event=event):
            kind = probes.schedule.kind(trainer.step)
            if not kind: return method(trainer, *args)
            torch.cuda.synchronize(); started = time.perf_counter()
            out = method(trainer, *args)
            torch.cuda.synchronize()
            totals[(kind, event)] = totals.get((kind, event), 0.0) + 1e3 * (time.perf_counter() - started)
            return out
        setattr(probes, event, timed)


def timed_run(cfg: TrainConfig, data, steps: int, hook_ms: dict | None = None) -> list[dict]:
    torch._dynamo.reset()
    trainer = Trainer(cfg, data)
    probes = Probes(trainer)
    trainer.hooks += [probes, StabilityHook(trainer)]
    if hook_ms is not None: timed_hooks(probes, hook_ms)
    for _ in range(10): trainer.train_step()  # compile and warm up (steps 0..9; step 0 is sampled)
    if hook_ms is not None: hook_ms.clear()
    out = []
    for _ in range(steps):
        kind = probes.schedule.kind(trainer.step)
        started = time.perf_counter()
        trainer.train_step()
        out.append(dict(ms=1e3 * (time.perf_counter() - started), kind=kind))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-path", required=True)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--format", default="E5M2")
    parser.add_argument("--steps", type=int, default=1200)
    parser.add_argument("--sampling", nargs="*", default=[], metavar="INTERVAL:FULL_EVERY")
    args = parser.parse_args()
    base = dict(data_source="text", data_path=args.data_path, device="cuda", recipe=args.format,
                max_steps=10 ** 6, checkpoint_dir=tempfile.mkdtemp())
    data = prepare_data(load_config("e5m2_short", **base))
    defaults = TrainConfig()
    cases = {"library defaults": (defaults.diagnostic_interval, defaults.full_diagnostic_every),
             "failure-mode configs": (load_config("e7m0_uniform").diagnostic_interval,
                                      load_config("e7m0_uniform").full_diagnostic_every)}
    for sampling in args.sampling:
        interval, full_every = (int(n) for n in sampling.split(":"))
        cases[f"compared ({interval}:{full_every})"] = (interval, full_every)
    mean = lambda ms: statistics.mean(ms) if ms else float("nan")
    # plain step times drift between runs in one process (14 to 19 ms seen on an H100): the run without
    # diagnostics goes first and last, and the comparison uses their mean
    without = lambda: mean([r["ms"] for r in timed_run(load_config("e5m2_short", **base, diagnostic_interval=10 ** 9),
                                                       data, args.steps)])
    without_first = without()
    result = dict(format=args.format, steps=args.steps, runs={})
    for name, (interval, full_every) in cases.items():
        hook_ms = {}
        rows = timed_run(load_config("e5m2_short", **base, diagnostic_interval=interval, full_diagnostic_every=full_every),
                         data, args.steps, hook_ms)
        by_kind = {kind: [r["ms"] for r in rows if r["kind"] == kind] for kind in (None, "light", "full")}
        result["runs"][name] = dict(
            diagnostic_interval=interval, full_diagnostic_every=full_every, mean_ms=mean([r["ms"] for r in rows]),
            step_ms=[round(r["ms"], 3) for r in rows], step_kind=[r["kind"] for r in rows],
            # the same run's unsampled steps as the base: immune to the few-percent spread between two
            # separately compiled runs
            ratio_within_run=mean([r["ms"] for r in rows]) / mean(by_kind[None]),
            samples={kind: len(by_kind[kind]) for kind in ("light", "full")},
            sample_ms={kind: statistics.median(by_kind[kind]) if by_kind[kind] else None for kind in ("light", "full")},
            hook_ms_per_sample={f"{kind}/{event}": v / max(1, len(by_kind[kind])) for (kind, event), v in hook_ms.items()})
    without_last = without()
    base_ms = (without_first + without_last) / 2
    result |= dict(mean_ms_without=base_ms, mean_ms_without_first_last=[without_first, without_last])
    for r in result["runs"].values(): r["ratio"] = r["mean_ms"] / base_ms
    fmt_ms = lambda v: "—" if v is None else f"{v:.1f}"
    text = (f"# Diagnostics cost on {torch.cuda.get_device_name()}\n\n{args.format}, batch 32x256 (e5m2_short's model), "
            f"{args.steps} steps per run, wall-clock per step including host work; no diagnostics: "
            f"{base_ms:.2f} ms/step (mean of a run before and after the others: {without_first:.2f}, {without_last:.2f}).\n\n| sampling | mean ms/step | vs no diagnostics | vs own unsampled steps | "
            f"light sample ms (n) | full sample ms (n) |\n|---|---|---|---|---|---|\n")
    for name, r in result["runs"].items():
        text += (f"| {name}: a sample every {r['diagnostic_interval']} steps, 1 in {r['full_diagnostic_every']} full | "
                 f"{r['mean_ms']:.2f} | {r['ratio']:.3f} | {r['ratio_within_run']:.3f} | "
                 f"{fmt_ms(r['sample_ms']['light'])} ({r['samples']['light']}) | "
                 f"{fmt_ms(r['sample_ms']['full'])} ({r['samples']['full']}) |\n")
    text += ("\nDiagnostics hook time per sample (ms, synchronized; a full sample also runs its forward/backward "
             "eagerly with the quantization counters, where other steps replay compiled CUDA graphs):\n\n")
    hooks = result["runs"]["failure-mode configs"]["hook_ms_per_sample"]
    text += "".join(f"- {k}: {v:.1f}\n" for k, v in sorted(hooks.items()))
    publish(text, args.out, "diagnostics", result)


if __name__ == "__main__":
    main()

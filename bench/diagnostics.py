"""Cost of the runner's diagnostics at the default interval, on a GPU.

    python bench/diagnostics.py --data-path CORPUS.txt.gz [--out DIR] [--format E5M2] [--steps 200]

Trains the same config twice through FormatExperimentRunner's hooks for `steps` steps: once with the
diagnostics at their defaults (a sample every diagnostic_interval = 50 steps, every full_diagnostic_every = 4th
of them full) and once with diagnostic_interval past the run (no sampled steps). Reports the mean step time of
each (sampled steps included), the ratio, the time of a light and of a full sampled step, and where a sampled
step's hook time goes. Target: <= 1.10x.
"""
import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from altgrad.config import TrainConfig, load_config
from altgrad.runner import DiagnosticsHook, StabilityHook
from altgrad.train import Trainer, prepare_data


def timed_hooks(hook, totals: dict):
    """Wrap the hook's methods so each adds its wall time (GPU work included: synchronized) to
    totals[(kind, event)], kind "light" or "full" sample."""
    for event in ("before_forward", "after_backward", "before_update", "after_update", "after_store"):
        method = getattr(hook, event)
        def timed(trainer, sample, method=method, event=event):
            if not sample: return method(trainer, sample)
            torch.cuda.synchronize(); started = time.perf_counter()
            out = method(trainer, sample)
            torch.cuda.synchronize()
            key = ("full" if trainer.full_sample else "light", event)
            totals[key] = totals.get(key, 0.0) + 1e3 * (time.perf_counter() - started)
            return out
        setattr(hook, event, timed)


def timed_run(cfg: TrainConfig, data, steps: int, hook_ms: dict | None = None) -> list[dict]:
    torch._dynamo.reset()
    trainer = Trainer(cfg, data)
    trainer.hooks += [DiagnosticsHook(trainer), StabilityHook(trainer)]
    if hook_ms is not None: timed_hooks(trainer.hooks[0], hook_ms)
    for _ in range(10): trainer.train_step()  # compile and warm up (steps 0..9; step 0 is sampled)
    if hook_ms is not None: hook_ms.clear()
    out = []
    for _ in range(steps):
        started = time.perf_counter()
        metrics = trainer.train_step()
        kind = ("full" if trainer.full_sample else "light") if "diag/grad_zero_fraction" in metrics else None
        out.append(dict(ms=1e3 * (time.perf_counter() - started), kind=kind))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-path", required=True)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--format", default="E5M2")
    parser.add_argument("--steps", type=int, default=400)
    args = parser.parse_args()
    base = dict(data_source="text", data_path=args.data_path, device="cuda", use_fp8=True, fp8_format=args.format,
                max_steps=10 ** 6, checkpoint_dir=tempfile.mkdtemp())
    data = prepare_data(load_config("e5m2_short", **base))
    hook_ms = {}
    with_diag = timed_run(load_config("e5m2_short", **base), data, args.steps, hook_ms)
    without = timed_run(load_config("e5m2_short", **base, diagnostic_interval=10 ** 9), data, args.steps)
    mean = lambda rows: statistics.mean(r["ms"] for r in rows)
    cfg = load_config("e5m2_short")
    sampled = {kind: [r["ms"] for r in with_diag if r["kind"] == kind] for kind in ("light", "full")}
    result = dict(format=args.format, steps=args.steps, interval=cfg.diagnostic_interval,
                  full_every=cfg.full_diagnostic_every, mean_ms_with=mean(with_diag), mean_ms_without=mean(without),
                  ratio=mean(with_diag) / mean(without),
                  sampled_steps={kind: len(v) for kind, v in sampled.items()},
                  sampled_step_ms={kind: statistics.median(v) if v else None for kind, v in sampled.items()},
                  hook_ms_per_sampled_step={f"{kind}/{event}": v / max(1, len(sampled[kind]))
                                            for (kind, event), v in hook_ms.items()})
    rows = "".join(f"| {kind} sample | {result['sampled_step_ms'][kind] or float('nan'):.1f} | {len(v)} |\n"
                   for kind, v in sampled.items())
    text = (f"# Diagnostics cost on {torch.cuda.get_device_name()}\n\n{args.format}, batch 32x256 (e5m2_short's model), "
            f"{args.steps} steps each, wall-clock per step including host work; a sample every "
            f"{cfg.diagnostic_interval} steps, every {cfg.full_diagnostic_every}th of them full.\n\n"
            f"| run | mean ms/step | ratio |\n|---|---|---|\n"
            f"| no diagnostics | {result['mean_ms_without']:.2f} | 1.00 |\n"
            f"| default diagnostics | {result['mean_ms_with']:.2f} | {result['ratio']:.3f} |\n\n"
            f"| step | median ms | count |\n|---|---|---|\n{rows}\n"
            "Diagnostics hook time per sampled step (ms, synchronized; the rest of a full sample is its eager "
            "forward/backward with the quantization counters):\n\n"
            + "".join(f"- {k}: {v:.1f}\n" for k, v in sorted(result["hook_ms_per_sampled_step"].items())))
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "diagnostics.md").write_text(text)
        (args.out / "diagnostics.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

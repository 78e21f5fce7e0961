"""Simulated low-precision training vs BF16 on a GPU: ms/step and tokens/s of a GPT (the study's 6L/384), compiled.

Run from the repository root on a CUDA machine:
    python bench/train_step.py --data-path CORPUS.txt.gz [--out DIR] [--batches 64] [--recipes bf16 fp8_tensor ...]
Each row is a recipe (`altgrad.recipes`: a named recipe, a format shorthand such as E5M2, or a YAML mapping), run
by the Trainer as a study run is. `torchao_mxfp8` is the reference point the recipes issue names: torchao's MXFP8
linear (`mx_mm`, E4M3 in blocks of 32 along each GEMM's contraction axis, floor scales) in its emulated mode with
torch's dim0/dim1 casts, on every linear layer but the lm_head (as our block recipes). The timed region of a step is
forward, backward, gradient clipping and the optimizer step (Trainer.train_step's step_ms); no step samples
diagnostics (diagnostic_interval set past the run).
"""
import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn
import yaml

from altgrad.config import load_config
from altgrad.train import Trainer
from altgrad.build import build_model, prepare_data
from report import publish


class TorchaoMXFP8Linear(nn.Module):
    "An nn.Linear whose three GEMMs run through torchao's emulated MXFP8 mx_mm (bias added in high precision)."

    def __init__(self, linear: nn.Linear):
        super().__init__()
        from torchao.prototype.moe_training.mxfp8_linear import mx_mm
        from torchao.prototype.mx_formats.config import (MXFP8Dim0CastKernelChoice, MXFP8Dim1CastKernelChoice,
                                                         ScaleCalculationMode)
        from torchao.quantization.quantize_.common.kernel_preference import KernelPreference
        self.weight, self.bias = linear.weight, linear.bias
        self.mm = mx_mm
        self.args = (torch.float8_e4m3fn, torch.float8_e4m3fn, torch.float8_e4m3fn, 32, KernelPreference.EMULATED,
                     MXFP8Dim0CastKernelChoice.TORCH, MXFP8Dim1CastKernelChoice.TORCH, ScaleCalculationMode.FLOOR, False)

    def forward(self, x):  # the operands in BF16, as autocast gives F.linear (mx_mm does not autocast itself)
        y = self.mm.apply(x.to(torch.bfloat16), self.weight.to(torch.bfloat16), *self.args)
        return y if self.bias is None else y + self.bias


def torchao_model(config):
    "The BF16 model with torchao's emulated MXFP8 linear on every linear layer except the lm_head."
    model, _ = build_model(config)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.Linear) and name != "lm_head": setattr(parent, name, TorchaoMXFP8Linear(child))
    return model


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-path", required=True)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--batches", type=int, nargs="+", default=[64])
    parser.add_argument("--recipes", nargs="+", default=["bf16", "E5M2", "fp8_tensor", "mxfp8", "nvfp4", "torchao_mxfp8"],
                        help="recipe names, format shorthands, YAML mappings, or torchao_mxfp8")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--model", default="6:6:384", help="n_layer:n_head:n_embd (the study's: 6:6:384)")
    parser.add_argument("--compile-mode", default=load_config().compile_mode, help="torch.compile mode of every row")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp()
    n_layer, n_head, n_embd = map(int, args.model.split(":"))
    base = dict(data_source="text", data_path=args.data_path, device="cuda", max_steps=10 ** 6, warmup_steps=10,
                compile_mode=args.compile_mode, diagnostic_interval=10 ** 9, checkpoint_dir=scratch,
                n_layer=n_layer, n_head=n_head, n_embd=n_embd)
    data = prepare_data(load_config(**base))
    rows = []
    for batch in args.batches:
        for recipe in args.recipes:
            torch._dynamo.reset()
            torchao = recipe == "torchao_mxfp8"
            spec = "bf16" if torchao else yaml.safe_load(recipe) if recipe.startswith("{") else recipe
            cfg = load_config(**base, batch_size=batch, recipe=spec)
            try:
                trainer = Trainer(cfg, data, model=torchao_model(cfg) if torchao else None)
                started = time.perf_counter()
                for _ in range(args.warmup): trainer.train_step()
                warm_s = time.perf_counter() - started
                ms = [trainer.train_step()["step_ms"] for _ in range(args.steps)]
            except Exception as e:  # one recipe that cannot run (e.g. torchao missing) must not lose the others
                rows.append(dict(batch=batch, recipe=recipe, error=f"{type(e).__name__}: {e}"[:300]))
                print(json.dumps(rows[-1]), flush=True)
                continue
            median = statistics.median(ms)
            rows.append(dict(batch=batch, recipe=recipe, ms_per_step=median, ms_spread=[min(ms), max(ms)],
                             tokens_per_s=batch * cfg.block_size / median * 1e3, warmup_and_compile_s=warm_s,
                             peak_mem_gb=torch.cuda.max_memory_allocated() / 2 ** 30))
            print(json.dumps(rows[-1]), flush=True)
            del trainer
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
    for r in rows:
        bf16 = next((b for b in rows if b["batch"] == r["batch"] and b["recipe"] == "bf16" and "error" not in b), None)
        if bf16 and "error" not in r: r["ratio_to_bf16"] = r["ms_per_step"] / bf16["ms_per_step"]
    lines = [f"# Training step on {torch.cuda.get_device_name()}", "",
             f"torch {torch.__version__}; {n_layer}L/{n_embd} GPT, block 256, bf16 autocast, blocks and head compiled as regions "
             f"(mode {args.compile_mode}), fused AdamW. Median of {args.steps} steps after {args.warmup} warm-up "
             "steps. Rows are recipes (configs/recipes/; `E5M2`: every linear layer including the lm_head, per-tensor "
             "scales); the named hardware recipes keep the lm_head in BF16. `torchao_mxfp8`: torchao's emulated "
             "MXFP8 linear (mx_mm, KernelPreference.EMULATED, torch dim0/dim1 casts, floor scales) on every linear "
             "but the lm_head.", "",
             "| batch | recipe | ms/step | tokens/s | ratio to BF16 | min..max ms | peak GiB |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r: lines.append(f"| {r['batch']}x256 | {r['recipe']} | failed: {r['error']} | | | | |")
        else: lines.append(f"| {r['batch']}x256 | {r['recipe']} | {r['ms_per_step']:.2f} | {r['tokens_per_s']:,.0f} | "
                           f"{r.get('ratio_to_bf16', float('nan')):.2f} | {r['ms_spread'][0]:.2f}..{r['ms_spread'][1]:.2f} | "
                           f"{r['peak_mem_gb']:.1f} |")
    text = "\n".join(lines) + "\n"
    publish(text, args.out, f"train_step_{n_layer}x{n_embd}", rows)


if __name__ == "__main__":
    main()

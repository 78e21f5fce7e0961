"""Simulated low-precision training vs BF16 on a GPU: ms/step and tokens/s of the 6L/384 GPT, compiled.

Run from the repository root on a CUDA machine:
    python bench/train_step.py --data-path CORPUS.txt.gz [--out DIR] [--batches 12 64] [--steps 50]
BF16 is the model under bf16 autocast with no quantization; the FP8 rows quantize weights, activations
and output gradients of every linear layer (delayed per-tensor scaling, nearest rounding). The timed
region of a step is forward, backward, gradient clipping and the optimizer step (Trainer.train_step's
step_ms); steps that sample quantization counters are excluded (diagnostic_interval set past the run).
"""
import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch

from altgrad.config import load_config
from altgrad.train import Trainer, prepare_data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-path", required=True)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--batches", type=int, nargs="+", default=[12, 64])
    parser.add_argument("--formats", nargs="+", default=["bf16", "E5M2", "E3M4", "E7M0", "E5M2+lm_head_bf16"])
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--compile-mode", default=load_config().compile_mode, help="torch.compile mode of every row")
    args = parser.parse_args()
    scratch = tempfile.mkdtemp()
    base = dict(data_source="text", data_path=args.data_path, device="cuda", max_steps=10 ** 6, warmup_steps=10,
                compile_mode=args.compile_mode,
                diagnostic_interval=10 ** 9, checkpoint_dir=scratch)
    data = prepare_data(load_config(**base))
    rows = []
    for batch in args.batches:
        for fmt in args.formats:
            torch._dynamo.reset()
            quantized = fmt != "bf16"
            name, _, keep_lm_head = fmt.partition("+")  # "E5M2+lm_head_bf16": lm_head left unquantized
            cfg = load_config(**base, batch_size=batch, use_fp8=quantized, fp8_format=name if quantized else "E5M2",
                              layer_formats={"lm_head": "bf16"} if keep_lm_head else {})
            trainer = Trainer(cfg, data)
            started = time.perf_counter()
            for _ in range(args.warmup): trainer.train_step()
            warm_s = time.perf_counter() - started
            ms = [trainer.train_step()["step_ms"] for _ in range(args.steps)]
            median = statistics.median(ms)
            rows.append(dict(batch=batch, format=fmt, ms_per_step=median, ms_spread=[min(ms), max(ms)],
                             tokens_per_s=batch * cfg.block_size / median * 1e3, warmup_and_compile_s=warm_s,
                             peak_mem_gb=torch.cuda.max_memory_allocated() / 2 ** 30))
            print(json.dumps(rows[-1]), flush=True)
            del trainer
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
    for r in rows:
        bf16 = next(b for b in rows if b["batch"] == r["batch"] and b["format"] == "bf16")
        r["ratio_to_bf16"] = r["ms_per_step"] / bf16["ms_per_step"]
    lines = [f"# Training step on {torch.cuda.get_device_name()}", "",
             f"torch {torch.__version__}; 6L/384 GPT, block 256, bf16 autocast, blocks and head compiled as regions "
             f"(mode {args.compile_mode}), "
             f"fused AdamW. Median "
             f"of {args.steps} steps after {args.warmup} warm-up steps. FP8 rows: weights, activations and output "
             "gradients of every linear layer fake-quantized in the format (delayed per-tensor scaling for weights "
             "and activations, current scaling for gradients, round-to-nearest-even); `+lm_head_bf16` leaves the "
             "lm_head (whose output gradient is the batch x 256 x 50257 logits gradient) unquantized.", "",
             "| batch | format | ms/step | tokens/s | ratio to BF16 | min..max ms | peak GiB |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['batch']}x256 | {r['format']} | {r['ms_per_step']:.2f} | {r['tokens_per_s']:,.0f} | "
              f"{r['ratio_to_bf16']:.2f} | {r['ms_spread'][0]:.2f}..{r['ms_spread'][1]:.2f} | {r['peak_mem_gb']:.1f} |"
              for r in rows]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "train_step.md").write_text(text)
        (args.out / "train_step.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()

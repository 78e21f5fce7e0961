"""The compiled head (final LayerNorm, lm_head, cross-entropy) of a study run under other compile choices: its time
and whether its numbers stay bit for bit the same.

    python bench/head_variants.py [--run e5m2_uniform_adamw_s42] [--iters 20] [--variants NAME ...] [--out DIR]

The head is half of a plain step's GPU time (`results/step_profile_h100.md`): the cross-entropy's logits-sized passes,
the lm_head's three GEMMs and, before commit 40514f9, a copy of the logits-sized output gradient into the zero-padded
operand Inductor makes for an unaligned GEMM. Each variant compiles the run's head (`torch.compile(model.head,
dynamic=False, options=...)` after `calibrate_scalers`, without CUDA graphs), with the lm_head's rows padded in the
model to a multiple of 1 (not padded), 8 or 64, then runs forward and backward on the same random activations and
targets: time per call (CUDA events, after warm-up), its largest kernels with their source nodes
(`step_profile.KernelSources`), and the loss, the input gradient and the lm_head weight gradient against the first
variant's (the head as it was compiled before), exactly. A variant that changes none of the three bits can go into
the trainer without changing any run's numbers. On the CPU it checks the same (no times, no kernels). `--out` also
gets the code Inductor generated for each variant.
"""
import argparse
import contextlib
import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).parent))
from step_profile import KernelSources, kernel_table  # noqa: E402

import altgrad.layers  # noqa: E402
from altgrad.layers import OUTPUT_ALIGNMENT, calibrate_scalers  # noqa: E402
from altgrad.sweep import load_sweep  # noqa: E402
from altgrad.build import build_model  # noqa: E402
from report import publish  # noqa: E402


@contextlib.contextmanager
def output_alignment(multiple: int):
    """The lm_head's rows padded in the model to a multiple of `multiple` when compiled (`altgrad.layers.linear`
    reads `OUTPUT_ALIGNMENT` at each call; 1: not padded, Inductor pads the GEMMs' operands itself)."""
    before = altgrad.layers.OUTPUT_ALIGNMENT
    altgrad.layers.OUTPUT_ALIGNMENT = multiple
    try: yield
    finally: altgrad.layers.OUTPUT_ALIGNMENT = before


# Inductor stores a pointwise result of more than 30 operations in a buffer rather than compute it inside the kernel
# that reads it: the quantized output gradient (cross-entropy backward and rounding), read by a padding
FEWER_REALIZED = {"realize_opcount_threshold": 1000}

VARIANTS = {  # name -> (torch.compile options, the multiple the lm_head's rows are padded to in the model)
    # before commit 40514f9: Inductor pads the unaligned GEMM operands itself (pad_mm, to 8 bfloat16 values)
    "unpadded (Inductor pads at the GEMMs)": ({}, 1),
    "no shape padding": ({"shape_padding": False}, 1),
    "lm_head rows padded to 8 in the model": ({}, 8),  # the width Inductor pads to
    "lm_head rows padded to 64 in the model (the trainer's)": ({}, OUTPUT_ALIGNMENT),  # nanoGPT's 50,304
    # Triton's 2D tiles for pointwise kernels (no value changes): tried while the 0.57 ms kernel was taken for a
    # transposed copy of the weight; it is the output gradient's padding copy
    "2D tiles preferred": ({"triton.prefer_nd_tiling": True}, 1),
    "2D tiles preferred, lm_head rows padded to 8 in the model": ({"triton.prefer_nd_tiling": True}, 8),
    "fewer buffers realized": (FEWER_REALIZED, 1),
    "fewer buffers realized, lm_head rows padded to 8 in the model": (FEWER_REALIZED, 8),
    "fewer buffers realized, lm_head rows padded to 64 in the model": (FEWER_REALIZED, 64),
}


def run_variant(name: str, args, sources: KernelSources) -> dict:
    options, alignment = VARIANTS[name]
    sources.code.clear()
    run = next(r for r in load_sweep(args.sweep)[2] if r.name == args.run)
    config = run.config()
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    generator = torch.Generator().manual_seed(0)  # the same activations and targets for every variant
    x = torch.randn(args.batch, config.block_size, config.n_embd, generator=generator).to(device)
    y = torch.randint(0, config.vocab_size, (args.batch, config.block_size), generator=generator).to(device)
    model, _ = build_model(config)
    model.to(device)
    autocast = dict(device_type=device.type, dtype=getattr(torch, config.dtype), enabled=cuda and config.dtype != "float32")
    with torch.autocast(**autocast): calibrate_scalers(model, y)
    torch._dynamo.reset()
    with output_alignment(alignment):
        # Without CUDA graphs (the trainer's reduce-overhead mode records the same kernels; here its replays would
        # overwrite the outputs this keeps): per-call times include launches, the profiler's GPU times do not.
        head = torch.compile(model.head, dynamic=False, options=options)

        def call():
            model.lm_head.weight.grad = None
            inputs = x.detach().requires_grad_()
            with torch.autocast(**autocast): _, loss = head(inputs, y)
            loss.backward()
            return loss.detach().clone(), inputs.grad.clone(), model.lm_head.weight.grad.clone()

        for _ in range(3): outputs = call()  # compile, record, warm up
        out = dict(variant=name, outputs=outputs)
        if cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            for _ in range(args.iters): call()
            end.record()
            torch.cuda.synchronize()
            out["ms"] = start.elapsed_time(end) / args.iters
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                for _ in range(5): call()
                torch.cuda.synchronize()
            out["gpu_ms"], out["kernels"] = kernel_table(prof, 5, args.rows, sources.nodes, nodes_width=1000)
    out["code"] = "\n\n".join(sources.code)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sweep", default="configs/sweeps/study.yaml")
    parser.add_argument("--run", default="e5m2_uniform_adamw_s42")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    sources = KernelSources.attach()
    results = [run_variant(name, args, sources) for name in args.variants]
    reference = results[0]["outputs"]
    lines = [f"# The compiled head of {args.run} under other compile choices "
             f"({torch.cuda.get_device_name() if torch.cuda.is_available() else 'CPU'}, torch {torch.__version__})\n",
             f"Batch {args.batch}; against `{results[0]['variant']}`: the loss, the input gradient and the lm_head weight "
             "gradient, bit for bit, and the largest difference.\n",
             "| variant | ms per forward+backward | GPU ms | loss | input grad | weight grad |", "|---|---|---|---|---|---|"]
    summary = []
    for r in results:
        same = [bool(torch.equal(a, b)) for a, b in zip(r["outputs"], reference)]
        diff = [float((a.float() - b.float()).abs().max()) for a, b in zip(r["outputs"], reference)]
        cells = [("identical" if s else f"differs (max {d:.3g})") for s, d in zip(same, diff)]
        lines.append(f"| {r['variant']} | {r.get('ms', float('nan')):.3f} | {r.get('gpu_ms', float('nan')):.3f} | "
                     + " | ".join(cells) + " |")
        summary.append(dict(variant=r["variant"], ms=r.get("ms"), gpu_ms=r.get("gpu_ms"), identical=same, max_diff=diff))
    for r in results:
        if "kernels" in r: lines.append(f"\n## {r['variant']}: largest kernels\n\n{r['kernels']}")
    text = "\n".join(lines) + "\n"
    publish(text, args.out, "head_variants", summary)
    if args.out:
        for i, r in enumerate(results):  # the code Inductor generated for each variant, to read its kernels
            (args.out / f"head_variant{i}_code.py").write_text(f"# {r['variant']}\n{r['code']}")


if __name__ == "__main__":
    main()

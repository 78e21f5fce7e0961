"""The compiled head (final LayerNorm, lm_head, cross-entropy) of a study run under other compile choices: its time
and whether its numbers stay bit for bit the same.

    python bench/head_variants.py [--run e5m2_uniform_adamw_s42] [--iters 20] [--out DIR]

The head is a third of a plain step's GPU time (the cross-entropy's logits-sized passes and the lm_head weight's
quantization, `results/step_profile_h100.md`). Each variant compiles the run's head as the trainer does
(`torch.compile(model.head, mode=compile_mode, dynamic=False)`, after `calibrate_scalers`), then runs forward and
backward on the same random activations and targets: time per call (CUDA events, after warm-up), its largest
kernels with their source nodes (`step_profile.KernelSources`), and the loss, the input gradient and the lm_head
weight gradient against the default's, exactly. A variant that changes none of the three bits can go into the
trainer without changing any run's numbers. On the CPU it checks the same (no times, no kernels).
"""
import argparse
import contextlib
import functools
import json
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).parent))
from step_profile import KernelSources, kernel_table  # noqa: E402

from altgrad.layers import calibrate_scalers  # noqa: E402
from altgrad.sweep import load_sweep  # noqa: E402
from altgrad.train import build_model  # noqa: E402


@contextlib.contextmanager
def linear_rows_padded(multiple: int = 64):
    """Every F.linear whose output width is not a multiple of `multiple` pads its weight's rows with zeros to one
    and slices the output back: the lm_head's GEMM (50,257 rows) then runs on an aligned weight in its own layout."""
    plain = F.linear
    def padded(x, weight, bias=None):
        rows = weight.shape[0]
        extra = -rows % multiple
        if not extra: return plain(x, weight, bias)
        return plain(x, F.pad(weight, (0, 0, 0, extra)), None if bias is None else F.pad(bias, (0, extra)))[..., :rows]
    F.linear = padded
    try: yield
    finally: F.linear = plain


VARIANTS = {  # name -> (torch.compile options, a context the head is compiled and run in)
    "default": ({}, contextlib.nullcontext),
    "no shape padding": ({"shape_padding": False}, contextlib.nullcontext),
    # Inductor pads an unaligned GEMM operand itself (pad_mm: to 8 bfloat16 values), on the transposed weight the mm
    # reads: a copy in the other layout; padded in the model, the weight keeps its own (8: the same width as
    # Inductor's padding, 64: nanoGPT's 50,304)
    "lm_head rows padded to 8 in the model": ({}, functools.partial(linear_rows_padded, 8)),
    "lm_head rows padded to 64 in the model": ({}, functools.partial(linear_rows_padded, 64)),
}


def run_variant(name: str, args, sources: KernelSources) -> dict:
    options, context = VARIANTS[name]
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
    cuda_graphs = cuda and config.compile_mode in ("reduce-overhead", "max-autotune")
    with context():
        # torch.compile takes a mode or options, not both: reduce-overhead is Inductor's CUDA graphs option
        compile_options = dict(options, **({"triton.cudagraphs": True} if cuda_graphs else {}))
        head = (torch.compile(model.head, dynamic=False, options=compile_options) if options
                else torch.compile(model.head, mode=config.compile_mode if cuda else "default", dynamic=False))

        def call():
            if cuda_graphs: torch.compiler.cudagraph_mark_step_begin()
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
            out["gpu_ms"], out["kernels"] = kernel_table(prof, 5, args.rows, sources.nodes)
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
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "head_variants.md").write_text(text)
        (args.out / "head_variants.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()

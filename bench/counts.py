"""The quantization counters' Triton kernel against the plain version: the same counts, and the time of each.

Run from the repository root on a CUDA machine:
    python bench/counts.py [--out DIR]

`altgrad.casts.quant_stats` counts, for one projection of a tensor, the values that overflow, underflow and are not
finite; a full diagnostic sample counts every quantized GEMM operand of the model. On CUDA a per-tensor count runs
one Triton kernel per chunk (`fused=True`); `fused=False` is the plain torch version. Checks the two give the same
counts for every 8-bit format, float32 and bfloat16 input, with and without a scale, on values spread over 30
binades with zeros, infinities and NaNs; then times both on the study's largest operand (the lm_head's output
gradient, 8192 x 50257 bfloat16, projected piece by piece as the layer's counter does) and on an activation
(8192 x 384). Writes counts.md.
"""
import argparse
from pathlib import Path

import torch
from timing import milliseconds

from altgrad.device import read_back
from altgrad.formats import EIGHT_BIT_FORMATS, get_format
from altgrad.casts import quant_stats
from altgrad.quantize import quantize


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args()
    torch.manual_seed(0)
    spread = torch.randn(1 << 20, device="cuda") * torch.logspace(-15, 15, 1 << 20, base=2.0, device="cuda")
    spread[::997], spread[1::1009], spread[2::1013], spread[3::1019] = 0.0, float("inf"), -float("inf"), float("nan")
    checked = 0
    for name in EIGHT_BIT_FORMATS:
        fmt = get_format(name)
        for dtype in (torch.float32, torch.bfloat16):
            x = spread.to(dtype)
            for scale in (None, torch.tensor(2.0 ** -7, device="cuda"), torch.tensor(2.0 ** 9, device="cuda")):
                project = lambda piece: quantize(piece if scale is None else piece * scale.to(piece.dtype), fmt)
                fused = read_back(quant_stats(x, project, scale, fmt, chunk=300_007))
                plain = read_back(quant_stats(x, project, scale, fmt, chunk=300_007, fused=False))
                assert fused == plain, (name, dtype, scale, fused, plain)
                checked += 1
    rows = []
    for label, shape in (("lm_head output gradient", (8192, 50257)), ("activation", (8192, 384))):
        x = torch.randn(shape, device="cuda", dtype=torch.bfloat16)
        scale = torch.tensor(2.0 ** 10, device="cuda")
        fmt = get_format("E5M2")
        project = lambda piece: quantize(piece * scale.to(piece.dtype), fmt)
        projected = project(x)
        for what, q in (("projection given", projected), ("projected piece by piece", project)):
            plain = milliseconds(lambda: quant_stats(x, q, scale, fmt, fused=False))
            fused = milliseconds(lambda: quant_stats(x, q, scale, fmt))
            rows.append(f"| {label} {tuple(shape)}, {what} | {plain:.2f} | {fused:.2f} | {plain / fused:.1f}x |")
    text = (f"# Quantization counters — {torch.cuda.get_device_name()}\n\n`python bench/counts.py` (torch "
            f"{torch.__version__}): the Triton count equals the plain one in all {checked} checks (6 formats x "
            "float32/bfloat16 x no scale / two scales, 2^20 values with zeros, infinities and NaNs, uneven chunks).\n\n"
            "| bfloat16 operand, E5M2, per-tensor scale | plain ms | Triton ms | speed-up |\n|---|---|---|---|\n"
            + "\n".join(rows) + "\n")
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "counts.md").write_text(text)


if __name__ == "__main__":
    main()

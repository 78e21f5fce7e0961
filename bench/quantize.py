"""Quantizer speed on a GPU, side by side with copy bandwidth and torch's native float8 round-trip.

Run from the repository root on a CUDA machine:  python bench/quantize.py [--out DIR] [--log2-numel 28]
Prints a markdown table; with --out also writes quantize.md / quantize.json there.

Before timing, it checks on fresh random inputs that the CUDA quantizer (the Triton kernel) gives bit-identical
results to the eager CPU path (which tests/test_oracle.py checks against gfloat), and that stochastic
rounding lands on a neighbour and is unbiased.
"""
import argparse
import math
import platform
from pathlib import Path

import torch
import triton.testing


from altgrad.formats import EIGHT_BIT_FORMATS, get_format
from altgrad.quantize import _GridSpec, _compiled, quantize
from report import publish


def timed_ms(fn) -> float:
    "Median time of fn in ms (CUDA events, warm-up first)."
    return triton.testing.do_bench(fn, warmup=50, rep=300, return_mode="median")


def fresh_inputs(numel: int, dtype: torch.dtype, seed: int) -> torch.Tensor:
    "Normal values spread over ~12 decades, plus a few specials, on the GPU."
    g = torch.Generator(device="cuda").manual_seed(seed)
    x = torch.randn(numel, device="cuda", generator=g) * torch.exp2(
        torch.randint(-20, 20, (numel,), device="cuda", generator=g).float())
    x[:4] = torch.tensor([float("nan"), float("inf"), -0.0, 0.0])
    return x.to(dtype)


def check_correctness(names, seeds=(1, 2, 3)):
    "CUDA vs eager CPU, bit for bit (nearest), and stochastic-rounding sanity, on fresh inputs."
    report = []
    for name in names:
        fmt = get_format(name)
        for dtype in (torch.float32, torch.bfloat16, torch.float16):
            for seed in seeds:
                x = fresh_inputs(1 << 20, dtype, seed)
                gpu = quantize(x, fmt).cpu()
                cpu = quantize(x.cpu(), fmt)
                # equal values, equal signs of zero; NaN matches NaN (its sign bit carries no meaning)
                same = ((gpu == cpu) & (torch.signbit(gpu) == torch.signbit(cpu))) | (gpu.isnan() & cpu.isnan())
                bad = (~same).nonzero().flatten()[:5]
                assert same.all(), (f"{name} {dtype}: {(~same).sum()} mismatches between CUDA and CPU, e.g. "
                                    f"x={x.cpu()[bad].tolist()} cuda={gpu[bad].tolist()} cpu={cpu[bad].tolist()}")
            x = fresh_inputs(1 << 20, dtype, 99)[4:]
            q = quantize(x, fmt, "stochastic")
            # q must be on the grid: re-quantizing changes nothing
            assert (quantize(q, fmt) == q).all(), f"{name}: stochastic result off the grid"
            # unbiased where the value is inside the range: mean error in ULPs near 0
            # (and whose upper neighbour the input dtype holds: float16 ends at 65504)
            inside = x.float().abs() < min(fmt.max_finite, torch.finfo(dtype).max) / 2
            err_ulp = ((q.float() - x.float()) / fmt.ulp(x.float()))[inside]
            assert (err_ulp.abs() <= 1).all(), f"{name}: stochastic rounding went past a neighbour"
            # same odds as the plain (eager torch.rand) version: values 30% of a ULP above a grid point
            top = min(fmt.max_finite, torch.finfo(dtype).max) / 4
            base = quantize(fresh_inputs(1 << 20, torch.float32, 7), fmt).abs().clamp(fmt.min_normal, top)
            y = (base + 0.3 * fmt.ulp(base)).to(dtype)
            frac = (y.float() - base) / fmt.ulp(base)  # the fraction of a ULP that survived the cast to dtype
            keep = frac > 0
            fast = ((quantize(y, fmt, "stochastic").float() - base) / fmt.ulp(base) / frac)[keep].mean()
            plain = ((quantize(y, fmt, "stochastic", fused=False).float() - base) / fmt.ulp(base) / frac)[keep].mean()
            report.append((name, str(dtype).removeprefix("torch."), float(err_ulp.mean()), int(inside.sum()),
                           float(fast), float(plain)))
            assert abs(float(err_ulp.mean())) < 0.01, f"{name}: stochastic rounding biased"
            assert abs(float(fast) - float(plain)) < 0.01, f"{name}: fast and plain stochastic rounding differ"
    return report


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--log2-numel", type=int, default=28)
    args = parser.parse_args()
    numel = 1 << args.log2_numel

    sr_report = check_correctness(EIGHT_BIT_FORMATS)

    rows = []

    def add(label, dtype, fn, bytes_per_elem):
        ms = timed_ms(fn)
        rows.append(dict(kernel=label, dtype=str(dtype).removeprefix("torch."), ms=ms,
                         gelem_s=numel / ms / 1e6, gbyte_s=numel * bytes_per_elem / ms / 1e6))
        print(f"{label:38s} {rows[-1]['dtype']:9s} {ms:8.3f} ms {rows[-1]['gelem_s']:8.1f} Gelem/s", flush=True)

    for dtype in (torch.float32, torch.bfloat16):
        x = fresh_inputs(numel, dtype, 0)
        out = torch.empty_like(x)
        size = x.element_size()
        add("copy", dtype, lambda: out.copy_(x), 2 * size)
        add("native float8_e4m3fn round-trip (eager)", dtype,
            lambda: x.to(torch.float8_e4m3fn).to(dtype), 2 * size)
        native = torch.compile(lambda t: t.to(torch.float8_e4m3fn).to(t.dtype))
        add("native float8_e4m3fn round-trip (compiled)", dtype, lambda: native(x), 2 * size)
        # the CUDA path for nearest rounding before the Triton kernel: _round_to_grid compiled by Inductor
        spec = _GridSpec.of(get_format("E4M3"))
        add("compiled _round_to_grid E4M3 nearest (before)", dtype,
            lambda: _compiled()(x, spec, True, False, torch.float32), 2 * size)
        for name in EIGHT_BIT_FORMATS:
            for rounding in ("nearest", "stochastic"):
                add(f"quantize {name} {rounding}", dtype, lambda: quantize(x, name, rounding), 2 * size)
        del x, out

    copy_bw = {r["dtype"]: r["gbyte_s"] for r in rows if r["kernel"] == "copy"}
    native = {r["dtype"]: r["ms"] for r in rows if r["kernel"] == "native float8_e4m3fn round-trip (eager)"}
    for r in rows:
        r["ratio_to_copy"] = r["gbyte_s"] / copy_bw[r["dtype"]]
        r["speedup_vs_native_eager"] = native[r["dtype"]] / r["ms"]

    device = torch.cuda.get_device_name()
    lines = [f"# Quantizer speed on {device}", "",
             f"torch {torch.__version__}, triton {triton.__version__}, {numel:,} elements per call "
             f"(2^{args.log2_numel}), median of CUDA-event timings (triton.testing.do_bench). Bandwidth counts "
             "bytes read + written; `ratio` is bandwidth over the copy of the same dtype; `vs native` is the "
             "speed-up over torch's eager `x.to(float8_e4m3fn).to(x.dtype)`.", "",
             "| kernel | dtype | ms | Gelem/s | GB/s | ratio to copy | vs native |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['kernel']} | {r['dtype']} | {r['ms']:.3f} | {r['gelem_s']:.1f} | {r['gbyte_s']:.0f} | "
              f"{r['ratio_to_copy']:.2f} | {r['speedup_vs_native_eager']:.2f}x |" for r in rows]
    lines += ["", "Correctness on this GPU, fresh random inputs: the CUDA kernel == eager CPU bit for bit for every "
              "format above (float32, bfloat16 and float16, 3 seeds x 2^20 values incl. NaN/inf/-0). Stochastic rounding, "
              "mean error in ULPs over values inside the range, and the fraction of a ULP that values 0.3 ULP above a grid "
              "point move up on average (should be 1.0) for the fast (Triton) and the plain (eager torch) version:", "",
              "| format | dtype | mean error (ULP) | values | fast: up / expected | plain: up / expected |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {n} | {d} | {e:+.5f} | {c:,} | {f:.4f} | {p:.4f} |" for n, d, e, c, f, p in sr_report]
    text = "\n".join(lines) + "\n"
    publish(text, args.out, "quantize", dict(device=device, torch=torch.__version__, numel=numel, rows=rows))


if __name__ == "__main__":
    main()

"""`altgrad.gemm.tensor_core_mm` against the card's own `torch._scaled_mm` on fresh inputs (GPU).

- `fresh`: every output of GEMMs with new seeds compared bit for bit (K from 16 to 16384, both
  format pairs, signs, distributions, scales, output types, both accumulation modes); a GEMM that
  cuBLASLt ran with split-K is compared at each split count from 1 to 16, and the one that matches
  is reported.
- `study`: the study model's GEMM shapes, every output.
- `zeros`: whether a zero operand beside a large one takes part in the alignment.
- `error`: the GEMM's error against the exact product as K grows, fast and split accumulation beside
  a BF16 GEMM of the same FP8 values (what an emulated recipe computes), same-sign and mixed signs.
- `rowwise`: outputs of row-wise scaled GEMMs kept for fitting (`$OUT/tensor_core_rowwise.npz`).

    python bench/tensor_core_check.py --out $OUT
"""

import argparse, itertools, json, os, sys, time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tensor_core_probe as probe
from report import publish
from altgrad.gemm import tensor_core_mm

E4M3, E5M2 = probe.E4M3, probe.E5M2
FORMATS = probe.FORMATS


def kernels_of(run) -> list[str]:
    "The CUDA kernels `run()` launches (names)."
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        out = run()
        torch.cuda.synchronize()
    names = {e.name for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA}
    return out, sorted(names)


def card_mm(a, bt, scale_a=1.0, scale_b=1.0, out_dtype=torch.float32, fast=False) -> torch.Tensor:
    "torch._scaled_mm(a, bt.T) on the GPU, with float or tensor scales."
    sa, sb = (torch.as_tensor(s, dtype=torch.float32).cuda() for s in (scale_a, scale_b))
    return torch._scaled_mm(
        a.cuda(), bt.cuda().t(), sa, sb, out_dtype=out_dtype, use_fast_accum=fast
    )


def bits(x: torch.Tensor) -> torch.Tensor:
    return x.view(torch.int16 if x.dtype == torch.bfloat16 else torch.int32)


def compare(a, bt, sa, sb, out_dtype, fast) -> dict:
    "One GEMM on the card and in the model; split-K counts tried when the card used split-K."
    a, bt = a.cuda(), bt.cuda()
    card, names = kernels_of(lambda: card_mm(a, bt, sa, sb, out_dtype, fast))
    split = any("splitK" in n for n in names)
    result = {"kernels": names, "outputs": card.numel(), "split_k": split}
    for k_splits in range(1, 17) if split else (1,):
        ours = tensor_core_mm(a, bt.t(), sa, sb, out_dtype, fast, k_splits=k_splits)
        same = int((bits(ours) == bits(card)).sum())
        if k_splits == 1 or same > result["identical"]:
            result.update(identical=same, k_splits=k_splits)
        if same == card.numel():
            break
    return result


def fresh(mn: int, ks, seed0: int) -> tuple[list, int, int]:
    rows, same, total, seed = [], 0, 0, seed0
    for K, (fa, fb), sign, dist in itertools.product(
        ks, (("e4m3", "e4m3"), ("e5m2", "e4m3")), ("mixed", "same"), ("gauss", "wide")
    ):
        seed += 2
        a = probe.gaussian(seed, (mn, K), FORMATS[fa], sign, dist == "wide")
        bt = probe.gaussian(seed + 1, (mn, K), FORMATS[fb], sign, dist == "wide")
        for (sa, sb), out_dtype, fast in itertools.product(
            ((1.0, 1.0), (0.0523, 3.117)), (torch.float32, torch.bfloat16), (False, True)
        ):
            r = compare(a, bt, sa, sb, out_dtype, fast)
            same, total = same + r["identical"], total + r["outputs"]
            if r["identical"] != r["outputs"] or r["split_k"]:
                rows.append(
                    {
                        "K": K,
                        "a": fa,
                        "sign": sign,
                        "dist": dist,
                        "scales": (sa, sb),
                        "out": str(out_dtype),
                        "fast": fast,
                        **r,
                    }
                )
        print(f"K={K} {fa} {sign} {dist}: {same}/{total} so far", flush=True)
    return rows, same, total


def study() -> tuple[list, int, int]:
    rows, same, total = [], 0, 0
    for i, (M, K, N) in enumerate(probe.STUDY_SHAPES):
        a = probe.gaussian(9000 + i, (M, K), E4M3, "mixed", False)
        bt = probe.gaussian(9100 + i, (N, K), E4M3, "mixed", False)
        for fast in (False, True):
            r = compare(a, bt, 1.0, 1.0, torch.float32, fast)
            same, total = same + r["identical"], total + r["outputs"]
            rows.append({"shape": (M, K, N), "fast": fast, **r})
        print(f"study {M}x{K}x{N}: {same}/{total}", flush=True)
    return rows, same, total


def zeros() -> dict:
    """b's columns: (448, 2^-9, ...), (0, 2^-9, ...), (-0, 2^-9, ...); a's rows start with one of
    0, -0, 2^-9, 1, 448 followed by eight 2^-9 (K = 64). If a zero took part in the alignment with
    its exponent field, the eight products 2^-18 beside it would be cut away."""
    K, firsts = 64, (0.0, -0.0, 2.0**-9, 1.0, 448.0)
    a = torch.zeros(16, K)
    for i, f in enumerate(firsts):
        a[i, 0], a[i, 1:9] = f, 2.0**-9
    bt = torch.full((16, K), 2.0**-9)
    bt[:, 0] = torch.tensor([448.0, 0.0, -0.0] + [1.0] * 13)
    a8, bt8 = probe.fp8(a, E4M3), probe.fp8(bt, E4M3)
    out = {}
    for fast in (False, True):
        card = card_mm(a8, bt8, fast=fast).cpu()
        ours = tensor_core_mm(a8, bt8.t(), fast_accum=fast)
        out["fast" if fast else "split"] = {
            f"a0={f:g}, b0={b:g}": {
                "card": card[i, j].item(),
                "model": ours[i, j].item(),
                "exact": float(a[i].double() @ bt[j].double()),
            }
            for i, f in enumerate(firsts)
            for j, b in enumerate((448.0, 0.0, -0.0))
        }
    return out


def error_vs_k() -> list:
    "Error against the exact product: median relative (same sign), rms over sum|ab| (mixed)."
    rows = []
    for K, sign in itertools.product((256, 1024, 4096, 16384), ("same", "mixed")):
        a = probe.gaussian(7000 + K, (256, K), E4M3, sign, False).cuda()
        bt = probe.gaussian(7001 + K, (256, K), E4M3, sign, False).cuda()
        exact = a.double() @ bt.double().t()
        scale = a.double().abs() @ bt.double().abs().t()
        arms = {
            "fast": card_mm(a, bt, fast=True),
            "split": card_mm(a, bt),
            "bf16 GEMM": a.bfloat16() @ bt.bfloat16().t(),
        }
        row = {"K": K, "sign": sign}
        for name, out in arms.items():
            err = (out.double() - exact) / scale
            row[name] = float(err.median() if sign == "same" else err.pow(2).mean().sqrt())
        rows.append(row)
    return rows


def rowwise(out_dir: Path) -> None:
    "Row-wise scaled GEMMs (scale_a (M, 1), scale_b (1, N), bfloat16 out), kept for fitting."
    arrays = {}
    for K, fast in itertools.product((256, 4096), (False, True)):
        a = probe.gaussian(8000 + K, (256, K), E4M3, "mixed", False)
        bt = probe.gaussian(8001 + K, (256, K), E4M3, "mixed", False)
        g = torch.Generator().manual_seed(K)
        sa, sb = torch.rand(256, 1, generator=g) + 0.01, torch.rand(1, 256, generator=g) + 0.01
        out = card_mm(a, bt, sa, sb, torch.bfloat16, fast)
        key = f"K{K}_{'fast' if fast else 'split'}"
        arrays[key] = bits(out).cpu().numpy()
        arrays[key + "_unscaled"] = bits(card_mm(a, bt, fast=fast)).cpu().numpy()
        arrays[key + "_scales"] = np.concatenate([sa.numpy().ravel(), sb.numpy().ravel()])
    np.savez_compressed(out_dir / "tensor_core_rowwise.npz", **arrays)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", ".")))
    args = p.parse_args()
    t0 = time.time()
    device = torch.cuda.get_device_name()
    z = zeros()
    print(json.dumps(z, indent=1), flush=True)
    errors = error_vs_k()
    print(errors, flush=True)
    rowwise(args.out)
    s_rows, s_same, s_total = study()
    f_rows, f_same, f_total = fresh(512, (16, 32, 48, 64, 96, 128, 256, 384, 512, 1024), 20000)
    l_rows, l_same, l_total = fresh(256, (2048, 4096, 8192, 16384), 30000)
    same, total = s_same + f_same + l_same, s_total + f_total + l_total
    lines = [
        f"# tensor_core_mm against torch._scaled_mm on {device}",
        "",
        f"torch {torch.__version__}, CUDA {torch.version.cuda}; `bench/tensor_core_check.py`, "
        f"{time.time() - t0:.0f} s.",
        "",
        f"**{same:,} of {total:,} fresh outputs identical** (study shapes {s_same:,}/{s_total:,}; "
        f"512 x 512, K 16-1024: {f_same:,}/{f_total:,}; 256 x 256, K 2048-16384: "
        f"{l_same:,}/{l_total:,}).",
        "",
        "GEMMs that differ anywhere, or that cuBLASLt ran with split-K (and the split count that",
        "matched):",
        "",
        "| K | a | sign | values | fast | out | split-K | k_splits | identical | outputs |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *[
            f"| {r['K']} | {r['a']} | {r['sign']} | {r['dist']} | {r['fast']} | {r['out']} | "
            f"{r['split_k']} | {r['k_splits']} | {r['identical']} | {r['outputs']} |"
            for r in f_rows + l_rows
        ],
        "",
        "## Error against the exact product (same sign: median relative; mixed: rms over sum |ab|)",
        "",
        "| K | signs | fast accumulation | split accumulation | BF16 GEMM of the FP8 values |",
        "|---|---|---|---|---|",
        *[
            f"| {r['K']} | {r['sign']} | {r['fast']:.3g} | {r['split']:.3g} | "
            f"{r['bf16 GEMM']:.3g} |"
            for r in errors
        ],
        "",
        "## A zero operand beside a large one (a's first element, b's first element; K = 64)",
        "",
        "| mode | operands | card | model | exact |",
        "|---|---|---|---|---|",
        *[
            f"| {mode} | {k} | {v['card']:.9g} | {v['model']:.9g} | {v['exact']:.9g} |"
            for mode, d in z.items()
            for k, v in d.items()
        ],
        "",
    ]
    publish(
        "\n".join(lines),
        args.out,
        "tensor_core_check",
        {
            "device": device,
            "identical": same,
            "outputs": total,
            "fresh": f_rows + l_rows,
            "study": s_rows,
            "zeros": z,
            "error": errors,
        },
    )

"""Pick the committed test vectors from what `tensor_core_probe.py` recorded on a GPU.

Operands are stored once as FP8 codes (`OPERANDS.a`, M x K; `OPERANDS.bt`, N x K: b transposed);
each case keeps the card's output bits (`NAME.out`: int32 for float32 out, int16 for bfloat16);
`cases` is one JSON object of every case's arguments (its operands, formats, scales, output type,
fast accumulation, and cuBLASLt's split-K count as inferred from the outputs). Small enough to
commit, so CI checks `altgrad.gemm.tensor_core_mm` against the card's own answers on the CPU.
"""

import argparse, itertools, json, os, sys
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import tensor_core_probe as probe

SCALES = {0: (1.0, 1.0), 1: (0.3712, 1.7291e-2)}


ARGS = {}  # case name -> its arguments


def case(cases: dict, name: str, operands: str, a, bt, out, fa, fb, s, out_name, mode, k_splits=1):
    sa, sb = SCALES[s]
    cases[operands + ".a"], cases[operands + ".bt"], cases[name + ".out"] = a, bt, out
    ARGS[name] = {
        "operands": operands,
        "a": fa,
        "b": fb,
        "scale_a": sa,
        "scale_b": sb,
        "out": out_name,
        "fast": mode == "fast",
        "k_splits": k_splits,
    }


def random_cases(cases: dict, src: str, rows: int):
    for file in ("small", "medium"):
        d = np.load(os.path.join(src, f"tensor_core_random_{file}.npz"))
        bases = sorted({k.rsplit("_a", 1)[0] for k in d.files if k.endswith("_a")})
        for base in bases:
            fa = base.split("x")[0]
            a, bt = d[base + "_a"][:rows], d[base + "_bt"][:rows]
            for s, out_name, mode in itertools.product((0, 1), ("f32", "bf16"), ("split", "fast")):
                out = d[f"{base}_s{s}_{out_name}_{mode}"].reshape(64, 64)[:rows, :rows]
                case(
                    cases,
                    f"{base}_s{s}_{out_name}_{mode}",
                    base,
                    a,
                    bt,
                    out,
                    fa,
                    "e4m3",
                    s,
                    out_name,
                    mode,
                )


def large_cases(cases: dict, src: str, rows: int):
    """K of 2048 and 16384. cuBLASLt splits K = 16384 six ways for these 32 x 32 outputs (inferred:
    of 1 to 32 splits, only 6 matches the card)."""
    d = np.load(os.path.join(src, "tensor_core_random_large.npz"))
    for fa, K, sign, dist in itertools.product(
        ("e4m3", "e5m2"), (2048, 16384), ("mixed", "same"), ("gauss",)
    ):
        base = f"{fa}xe4m3_K{K}_{sign}_{dist}"
        sa, sb = (int(x) for x in d[base + "_seed"])
        a = probe.gaussian(sa, (32, K), probe.FORMATS[fa], sign, False)[:rows]
        bt = probe.gaussian(sb, (32, K), probe.E4M3, sign, False)[:rows]
        for mode in ("split", "fast"):
            out = d[f"{base}_s0_f32_{mode}"].reshape(32, 32)[:rows, :rows]
            case(
                cases,
                f"{base}_s0_f32_{mode}",
                base,
                probe.codes(a),
                probe.codes(bt),
                out,
                fa,
                "e4m3",
                0,
                "f32",
                mode,
                6 if K == 16384 else 1,
            )


def study_cases(cases: dict, src: str, samples: int):
    "The study model's GEMM shapes: each sampled output a 1 x 1 case (its row of a, column of b)."
    d = np.load(os.path.join(src, "tensor_core_study.npz"))
    for i, (M, K, N) in enumerate(probe.STUDY_SHAPES):
        seed = 5000 + 2 * (i + 1)
        a = probe.gaussian(seed, (M, K), probe.E4M3, "mixed", False)
        bt = probe.gaussian(seed + 1, (N, K), probe.E4M3, "mixed", False)
        idx = torch.randint(0, M * N, (8192,), generator=torch.Generator().manual_seed(seed))[
            :samples
        ]
        for mode in ("split", "fast"):
            out = d[f"study_{M}x{K}x{N}_{mode}"][:samples]
            for j, flat in enumerate(idx.tolist()):
                r, c = divmod(flat, N)
                case(
                    cases,
                    f"study_{M}x{K}x{N}_{j}_{mode}",
                    f"study_{M}x{K}x{N}_{j}",
                    probe.codes(a[r : r + 1]),
                    probe.codes(bt[c : c + 1]),
                    out[j : j + 1].reshape(1, 1),
                    "e4m3",
                    "e4m3",
                    0,
                    "f32",
                    mode,
                )


def probe_cases(cases: dict, src: str, every: int):
    "The probes (a large and one or two small products per row, b all ones): every `every`-th row."
    d = np.load(os.path.join(src, "tensor_core_probes.npz"))
    builders = {
        "pair_K128_big0": lambda: probe.pair_probes(128, range(128), range(4, 32), 0),
        "pair_K1024_big0": lambda: probe.pair_probes(1024, range(1024), probe.FAR_DISTANCES, 0),
        "twosmall_K64": lambda: probe.two_small_probes(64, range(8, 20)),
    }
    for name, build in builders.items():
        values, _ = build()
        a = probe.codes(probe.fp8(values[::every], probe.E5M2))
        bt = probe.codes(torch.ones(1, values.shape[1]).to(probe.E4M3))
        for mode in ("split", "fast"):
            out = d[f"{name}_{mode}"][::every].reshape(-1, 1)
            case(cases, f"{name}_{mode}", name, a, bt, out, "e5m2", "e4m3", 0, "f32", mode)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src", help="the folder tensor_core_probe.py wrote")
    p.add_argument("--out", default="tests/data/tensor_core_h100.npz")
    args = p.parse_args()
    cases = {}
    random_cases(cases, args.src, 4)
    large_cases(cases, args.src, 2)
    study_cases(cases, args.src, 4)
    probe_cases(cases, args.src, 7)
    np.savez_compressed(args.out, cases=np.frombuffer(json.dumps(ARGS).encode(), np.uint8), **cases)
    outputs = [cases[k] for k in cases if k.endswith(".out")]
    operands = sum(k.endswith(".a") for k in cases)
    print(f"{len(outputs)} cases of {operands} operands, {sum(o.size for o in outputs)} outputs")
    print(f"-> {args.out} ({os.path.getsize(args.out)} bytes)")

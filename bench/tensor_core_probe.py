"""Record what a GPU's FP8 GEMM (`torch._scaled_mm`) returns, to find and check a bit-exact model.

Two kinds of input, every one built on the CPU from a seed so the CPU can rebuild it:
- probes: operands made to expose one property each (a large product beside a small one at every
  position of K and distance in binades; two small products that survive only if summed first;
  signs), one probe per row;
- random: Gaussian and wide-range operands for every K, format pair, sign, scale, output type and
  accumulation mode, and the study model's GEMM shapes.
Each GEMM's cuBLASLt kernel is recorded (torch.profiler): it decides tiling, split-K and promotion.
Writes `$OUT/tensor_core_<name>.npz` (operand codes where small, output bits) and
`tensor_core_kernels.json`.
"""

import argparse, itertools, json, os, sys, time
import numpy as np
import torch

E4M3, E5M2 = torch.float8_e4m3fn, torch.float8_e5m2
FORMATS = {"e4m3": E4M3, "e5m2": E5M2}


def fp8(values: torch.Tensor, dtype) -> torch.Tensor:
    "float32 values that are on the FP8 grid, as FP8 (checked: the cast must be exact)."
    out = values.to(dtype)
    if not torch.equal(out.float(), values):
        raise ValueError("probe value not representable")
    return out


def gaussian(seed: int, shape, dtype, sign: str, wide: bool) -> torch.Tensor:
    "Gaussian values (|x| for same sign) times 2^U(-6, 6) if wide, rounded to FP8 on the CPU."
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(*shape, generator=g)
    if wide:
        x = x * torch.exp2(torch.randint(-6, 7, shape, generator=g).float())
    x = x * (8.0 if dtype == E4M3 else 64.0)
    if sign == "same":
        x = x.abs()
    return x.clamp(-448, 448).to(dtype)  # E5M2's range is wider; the clamp keeps both finite


FAR_DISTANCES = (
    10,
    11,
    12,
    13,
    14,
    15,
    20,
    22,
    23,
    24,
    25,
    26,
)  # either side of 13 and of FP32's 23 bits
STUDY_SHAPES = (
    (8192, 384, 1536),
    (8192, 1536, 384),
    (384, 8192, 1536),
    (1536, 8192, 384),
    (8192, 384, 384),
)


def pair_probes(K: int, positions, distances, big_at: int):
    """Rows of a (M, K) with one large product 2^15 at `big_at` and one small +-m 2^(15-s) at j,
    m = 1 or 1.75 (b is all ones). Returns a (float32 values) and each row's (j, s, sign * m)."""
    rows, meta = [], []
    for j, s, sign in itertools.product(positions, distances, (1.0, -1.0, 1.75, -1.75)):
        if j == big_at or (abs(sign) > 1 and 15 - s < -14):
            continue  # 1.75 * 2^e needs e >= -14
        row = torch.zeros(K)
        row[big_at] = 2.0**15
        row[j] = sign * 2.0 ** (15 - s)
        rows.append(row)
        meta.append((j, s, sign))
    return torch.stack(rows), np.array(meta)


def two_small_probes(K: int, distances):
    "2^15 at position 0 and two small products 2^(15-s) at i < j: are they summed before the cut?"
    rows, meta = [], []
    for s in distances:
        for i in range(1, K):
            for j in range(i + 1, K):
                row = torch.zeros(K)
                row[0] = 2.0**15
                row[i] = row[j] = 2.0 ** (15 - s)
                rows.append(row)
                meta.append((i, j, s))
    return torch.stack(rows), np.array(meta)


class Recorder:
    def __init__(self, out: str):
        self.out, self.kernels, self.arrays = out, {}, {}

    def gemm(self, name: str, a, bt, scale_a=1.0, scale_b=1.0, out_dtype=torch.float32, fast=False):
        "torch._scaled_mm(a, bt.T) on the GPU; records the kernel, returns the output on the CPU."
        sa = torch.tensor(scale_a, dtype=torch.float32, device="cuda")
        sb = torch.tensor(scale_b, dtype=torch.float32, device="cuda")
        rows = a.shape[0]
        pad = (-rows) % 16  # cuBLASLt's FP8 GEMM wants every dimension a multiple of 16
        a = torch.cat([a, torch.zeros(pad, a.shape[1]).to(a.dtype)]) if pad else a
        a, b = a.cuda(), bt.cuda().t()
        run = lambda: torch._scaled_mm(a, b, sa, sb, out_dtype=out_dtype, use_fast_accum=fast)
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
            out = run()
            torch.cuda.synchronize()
        names = sorted(
            {e.name for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA}
        )
        again = run()
        if not torch.equal(
            out.view(torch.int16 if out.dtype == torch.bfloat16 else torch.int32),
            again.view(torch.int16 if out.dtype == torch.bfloat16 else torch.int32),
        ):
            print(f"NOT DETERMINISTIC: {name}", flush=True)
        self.kernels[name] = {
            "kernels": names,
            "M": a.shape[0],
            "K": a.shape[1],
            "N": b.shape[1],
            "fast": fast,
            "out": str(out_dtype),
            "a": str(a.dtype),
            "b": str(b.dtype),
        }
        return out[:rows].cpu()

    def bits(self, out: torch.Tensor) -> np.ndarray:
        return (
            out.view(torch.int16) if out.dtype == torch.bfloat16 else out.view(torch.int32)
        ).numpy()

    def save(self, file: str, **arrays):
        np.savez_compressed(os.path.join(self.out, f"tensor_core_{file}.npz"), **arrays)


def codes(x: torch.Tensor) -> np.ndarray:
    return x.view(torch.uint8).numpy()


def probes(rec: Recorder):
    ones = lambda K, N=16, dtype=E4M3: torch.ones(N, K).to(dtype)
    arrays = {}
    for K, positions, distances, big_at in (
        (128, range(128), range(4, 32), 0),
        (128, range(128), range(4, 32), 127),
        (1024, range(1024), FAR_DISTANCES, 0),
        (64, range(64), range(4, 32), 31),
    ):
        vals, meta = pair_probes(K, positions, distances, big_at)
        a = fp8(vals, E5M2)
        for fast in (False, True):
            key = f"pair_K{K}_big{big_at}_{'fast' if fast else 'split'}"
            out = rec.gemm(key, a, ones(K), fast=fast)
            arrays[key] = rec.bits(out[:, 0])
            arrays[key + "_meta"] = meta
            print(key, a.shape, flush=True)
    vals, meta = two_small_probes(64, range(8, 20))
    a = fp8(vals, E5M2)
    for fast in (False, True):
        key = f"twosmall_K64_{'fast' if fast else 'split'}"
        arrays[key] = rec.bits(rec.gemm(key, a, ones(64), fast=fast)[:, 0])
        arrays[key + "_meta"] = meta
        print(key, a.shape, flush=True)
    rec.save("probes", **arrays)


def random_sets(rec: Recorder, name: str, ks, mn: int):
    arrays, seed = {}, 1000
    for (fa, fb), K, sign, wide in itertools.product(
        (("e4m3", "e4m3"), ("e5m2", "e4m3")), ks, ("mixed", "same"), (False, True)
    ):
        seed += 2
        a = gaussian(seed, (mn, K), FORMATS[fa], sign, wide)
        bt = gaussian(seed + 1, (mn, K), FORMATS[fb], sign, wide)
        base = f"{fa}x{fb}_K{K}_{sign}_{'wide' if wide else 'gauss'}"
        if K <= 1024:
            arrays[base + "_a"], arrays[base + "_bt"] = codes(a), codes(bt)
        arrays[base + "_seed"] = np.array([seed, seed + 1])
        for (sa, sb), out_dtype, fast in itertools.product(
            ((1.0, 1.0), (0.3712, 1.7291e-2)), (torch.float32, torch.bfloat16), (False, True)
        ):
            key = (
                f"{base}_s{int(sa != 1.0)}_{'bf16' if out_dtype == torch.bfloat16 else 'f32'}_"
                f"{'fast' if fast else 'split'}"
            )
            arrays[key] = rec.bits(rec.gemm(key, a, bt, sa, sb, out_dtype, fast))
        print(base, flush=True)
    rec.save(f"random_{name}", **arrays)


def study_shapes(rec: Recorder):
    "The study model's GEMM shapes (6L/384, batch 32 x 256, MLP 1536): 8192 outputs kept each."
    arrays, seed = {}, 5000
    for M, K, N in STUDY_SHAPES:
        seed += 2
        a = gaussian(seed, (M, K), E4M3, "mixed", False)
        bt = gaussian(seed + 1, (N, K), E4M3, "mixed", False)
        g = torch.Generator().manual_seed(seed)
        idx = torch.randint(0, M * N, (8192,), generator=g)
        for fast in (False, True):
            key = f"study_{M}x{K}x{N}_{'fast' if fast else 'split'}"
            arrays[key] = rec.bits(rec.gemm(key, a, bt, fast=fast).flatten()[idx])
        arrays[f"study_{M}x{K}x{N}_seed"] = np.array([seed, seed + 1])
        print(M, K, N, flush=True)
    rec.save("study", **arrays)


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.environ.get("OUT", "."))
    args = p.parse_args()
    t0 = time.time()
    rec = Recorder(args.out)
    info = {
        "device": torch.cuda.get_device_name(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cublaslt": torch.backends.cuda.preferred_blas_library().name
        if hasattr(torch.backends.cuda, "preferred_blas_library")
        else "",
    }
    print(info, flush=True)
    probes(rec)
    random_sets(rec, "small", (16, 32, 48, 64, 96, 128, 160, 256), 64)
    random_sets(rec, "medium", (384, 512, 1024), 64)
    random_sets(rec, "large", (2048, 4096, 16384), 32)
    study_shapes(rec)
    with open(os.path.join(args.out, "tensor_core_kernels.json"), "w") as f:
        json.dump({"info": info, "gemms": rec.kernels}, f, indent=1)
    print(f"done in {time.time() - t0:.0f} s", flush=True)

"""The Triton rounding kernel of this checkout against other versions of it, side by side.

    git show COMMIT:altgrad/quantize.py > before.py
    python bench/rounding_kernel.py --versions before.py [other.py ...] [--out DIR]   # on a CUDA machine
    python bench/rounding_kernel.py --versions before.py --sass                       # Triton, no GPU needed

On a GPU it first checks that every version's kernel gives the same bits as this checkout's for every 8-bit format
(nearest, and stochastic from the same seed, so the same random draws; float32, bfloat16 and float16 inputs with
specials and float32 subnormals; saturating or not), then times copy and each kernel in one run: at 2^28 elements,
where memory bounds a kernel that keeps up, and at 2^22-2^23 elements replayed from a CUDA graph so that the data
stays in L2 (there launch gaps between the short kernels count too). `--tiles 4096:8 8192:4 ...` also times the
16-bit kernel of each version that reads its tile from `_TILES` with other elements per program and warps.

`--sass` compiles the kernels for sm_90 without a GPU and counts their machine instructions per element.
"""
import argparse
import collections
import importlib.util
import re
import sys
from pathlib import Path

import torch

from altgrad import quantize as this_checkout
from altgrad.formats import EIGHT_BIT_FORMATS, get_format
from report import publish

DTYPES = (torch.float32, torch.bfloat16, torch.float16)


def load_version(path: Path):
    "The quantize module in `path`, imported as a sibling of altgrad.quantize (its relative imports resolve)."
    spec = importlib.util.spec_from_file_location(f"altgrad.quantize_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def inputs(numel: int, dtype: torch.dtype, seed: int, device: str) -> torch.Tensor:
    "Normal values over ~24 decades (float32 subnormals and bfloat16's too), a few specials first."
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(numel, generator=g) * torch.exp2(torch.randint(-40, 40, (numel,), generator=g).float())
    x[numel // 2:numel // 2 + 1000] *= 2.0 ** -100  # the deep end: subnormal in float32, tiny in the formats
    x[:8] = torch.tensor([float("nan"), float("inf"), -0.0, 0.0, -float("inf"), 1e-45, -1e-40, 3e38])
    return x.to(dtype).to(device)


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    "Equal values with equal signs of zero; NaN matches NaN."
    return bool((((a == b) & (torch.signbit(a) == torch.signbit(b))) | (a.isnan() & b.isnan())).all())


def check_same_bits(other, numel: int, device: str) -> int:
    "`other`'s kernel against this checkout's on the same inputs and seeds, bit for bit; returns the values compared."
    compared = 0
    for name in EIGHT_BIT_FORMATS:
        fmt = get_format(name)
        for dtype in DTYPES:
            x = inputs(numel, dtype, 1, device)
            for saturate in (True, False):
                for stochastic in (False, True):
                    results = [module._round_cuda(x, module._GridSpec.of(fmt), saturate, stochastic,
                                                  torch.Generator().manual_seed(7))
                               for module in (other, this_checkout)]
                    assert same_bits(*results), f"{name} {dtype} saturate={saturate} stochastic={stochastic} differ"
                    compared += numel
    return compared


def dram_ms(fn) -> float:
    "Median ms of fn, L2 flushed before each call (triton.testing.do_bench)."
    import triton.testing
    return triton.testing.do_bench(fn, warmup=50, rep=300, return_mode="median")


def resident_ms(fn, launches: int = 40) -> float:
    "ms per call of fn, replayed back to back from one CUDA graph: data that fits stays in L2."
    fn()
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        for _ in range(launches): fn()
    graph.replay()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(20):
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / launches)
    return sorted(times)[len(times) // 2]


def kernel_calls(module, x: torch.Tensor, name: str, stochastic: bool):
    "A call of `module`'s kernel on x, rounding to `name` (saturating)."
    spec = module._GridSpec.of(get_format(name))
    generator = torch.Generator().manual_seed(0)
    return lambda: module._round_cuda(x, spec, True, stochastic, generator)


def timings(versions: dict, log2_dram: int, tiles: list[tuple[int, int]]) -> list[dict]:
    "Copy and every version's kernel per format and rounding; with `tiles`, bfloat16 again at each (block, warps)."
    rows = []
    for dtype in (torch.float32, torch.bfloat16):
        # resident: input and output together well inside an H100's 50 MB L2
        for where, log2, timer in (("DRAM", log2_dram, dram_ms), ("L2", 22 if dtype == torch.float32 else 23,
                                                                 resident_ms)):
            numel = 1 << log2
            x = inputs(numel, dtype, 0, "cuda")
            out = torch.empty_like(x)
            bytes_moved = 2 * numel * x.element_size()

            def add(kernel, ms):
                rows.append(dict(kernel=kernel, dtype=str(dtype).removeprefix("torch."), where=where, numel=numel,
                                 ms=ms, gelem_s=numel / ms / 1e6, gbyte_s=bytes_moved / ms / 1e6))
                r = rows[-1]
                print(f"{where:4s} {r['dtype']:9s} {kernel:32s} {ms:8.4f} ms {r['gelem_s']:8.1f} Gelem/s", flush=True)

            add("copy", timer(lambda: out.copy_(x)))
            for name in EIGHT_BIT_FORMATS:
                for rounding in ("nearest", "stochastic"):
                    for label, module in versions.items():
                        call = kernel_calls(module, x, name, rounding == "stochastic")
                        add(f"{name} {rounding} {label}", timer(call))
            if dtype == torch.bfloat16 and where == "DRAM":
                for block, warps in tiles:
                    for label, module in versions.items():
                        if not hasattr(module, "_TILES"): continue
                        kept, module._TILES[2] = module._TILES[2], (block, warps)
                        for name in ("E4M3", "E5M2"):
                            for rounding in ("nearest", "stochastic"):
                                add(f"{name} {rounding} {label} {block}:{warps}",
                                    timer(kernel_calls(module, x, name, rounding == "stochastic")))
                        module._TILES[2] = kept
            del x, out
    copy = {(r["dtype"], r["where"]): r["gbyte_s"] for r in rows if r["kernel"] == "copy"}
    for r in rows: r["ratio_to_copy"] = r["gbyte_s"] / copy[r["dtype"], r["where"]]
    return rows


def sass_counts(module, name: str, dtype: str, stochastic: bool) -> tuple[int, int]:
    "(machine instructions, elements) of one program of `module`'s kernel compiled for sm_90 (Triton 3.6's API)."
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource
    fmt, kernel = get_format(name), module._rounding_kernel()
    spec = module._GridSpec.of(fmt)
    elements_per_word = 2 if dtype in ("bf16", "fp16") else 1
    # the module's own tile; versions before _TILES used 2048 elements a word of 4 bytes and 8 warps
    element_bytes = 4 // elements_per_word
    block, warps = getattr(module, "_TILES", {element_bytes: (2048 * elements_per_word, 8)})[element_bytes]
    up, up2 = module._pow2_product(fmt.M - fmt.emin)
    down, down2 = module._pow2_product(fmt.emin - fmt.M)
    constants = dict(M=fmt.M, EMIN=fmt.emin, UP=up, UP2=up2, DOWN=down, DOWN2=down2,
                     PARITY_FLIP=int(fmt.M == 0 and (fmt.bias - 127) % 2 == 1),
                     UNIFORM_BELOW_EMIN=spec.uniform_below_emin, SATURATE=True, STOCHASTIC=stochastic,
                     ELEMENTS_PER_WORD=elements_per_word, CEIL_OF_DIFFERENCE=elements_per_word == 2 and fmt.M <= 8,
                     PACKED=dtype == "bf16" and fmt.M <= 7, BLOCK=block)
    names = kernel.arg_names
    constants = {k: v for k, v in constants.items() if k in names}  # what the other version's kernel takes
    types = dict(x_ptr=f"*{dtype}", out_ptr=f"*{dtype}", numel="i64", seed="i32", min_subnormal="fp32",
                 max_finite="fp32", overflow_value="fp32")
    signature = {n: types.get(n, "constexpr") for n in names}
    aligned = {(i,): [["tt.divisibility", 16]] for i in range(3)}
    constexprs = {(names.index(k),): v for k, v in constants.items()}
    source = ASTSource(kernel, signature, constexprs=constexprs, attrs=aligned)
    options = dict(num_warps=warps, **({"enable_reflect_ftz": False} if "CEIL_OF_DIFFERENCE" in constants else {}))
    compiled = triton.compile(source, target=GPUTarget("cuda", 90, 32), options=options)
    ops = collections.Counter()
    for line in compiled.asm["sass"].splitlines():
        if "\t" in line and re.match(r"(@!?U?P\w+\s+)?[A-Z]", line.split("\t", 1)[1].strip()):
            ops[line.split("\t", 1)[1].strip()] += 1
    return sum(ops.values()), block // (warps * 32)


def sass_table(versions: dict) -> tuple[list[str], list[dict]]:
    rows = []
    for name in ("E4M3", "E5M2", "E3M4"):
        for dtype in ("fp32", "bf16"):
            for stochastic in (False, True):
                per_element = {}
                for label, module in versions.items():
                    instructions, per_thread = sass_counts(module, name, dtype, stochastic)
                    per_element[label] = instructions / per_thread
                rows.append(dict(format=name, dtype=dtype, rounding="stochastic" if stochastic else "nearest",
                                 per_element=per_element))
    lines = ["| format | input | rounding | " + " | ".join(versions) + " |", "|---|---|---|" + "---|" * len(versions)]
    lines += [f"| {r['format']} | {r['dtype']} | {r['rounding']} | " +
              " | ".join(f"{n:.1f}" for n in r["per_element"].values()) + " |" for r in rows]
    return lines, rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--versions", type=Path, nargs="+", required=True, help="other versions' quantize.py")
    parser.add_argument("--tiles", nargs="*", default=[], help="BLOCK:WARPS for the 16-bit kernel")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--log2-numel", type=int, default=28)
    parser.add_argument("--sass", action="store_true", help="only count machine instructions (no GPU needed)")
    args = parser.parse_args()
    versions = {path.stem: load_version(path) for path in args.versions} | {"this checkout": this_checkout}
    sass_lines, sass_rows = sass_table(versions)
    if args.sass:
        import triton
        head = ["# Machine instructions per element of the rounding kernel", "",
                f"Compiled by Triton {triton.__version__} for sm_90 (no GPU needed), one program at each version's own "
                "elements per program and warps, saturating; counted from its SASS.", ""]
        publish("\n".join(head + sass_lines) + "\n", args.out, "rounding_kernel_sass", sass_rows)
        return
    import triton
    compared = {label: check_same_bits(module, 1 << 20, "cuda") for label, module in versions.items()
                if module is not this_checkout}
    tiles = [tuple(int(n) for n in tile.split(":")) for tile in args.tiles]
    rows = timings(versions, args.log2_numel, tiles)
    device = torch.cuda.get_device_name()
    lines = [f"# The rounding kernel of this checkout and of {', '.join(p.name for p in args.versions)} on {device}",
             "", f"torch {torch.__version__}, triton {triton.__version__}. Each version's kernel gave the same bits as "
             f"this checkout's on {min(compared.values()):,} values (6 formats x 3 input dtypes x saturate or not x "
             "nearest and stochastic from one seed). DRAM: 2^28 elements, median of do_bench (L2 flushed); L2: 2^22 "
             "float32 or 2^23 bfloat16 elements, 40 calls replayed from a CUDA graph. Ratio: bandwidth over copy's, "
             "same dtype and size.", "",
             "| kernel | dtype | where | ms | Gelem/s | ratio to copy |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['kernel']} | {r['dtype']} | {r['where']} | {r['ms']:.4f} | {r['gelem_s']:.1f} | "
              f"{r['ratio_to_copy']:.2f} |" for r in rows]
    lines += ["", "Machine instructions per element of one program compiled for sm_90 (each version's own elements "
              "per program and warps):", ""] + sass_lines
    publish("\n".join(lines) + "\n", args.out, "rounding_kernel",
            dict(device=device, torch=torch.__version__, triton=triton.__version__, compared=compared, rows=rows,
                 sass=sass_rows))


if __name__ == "__main__":
    main()

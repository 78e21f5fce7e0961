"""The probe tables behind the tensor-core model (nbs/04_gemm.ipynb), from what `tensor_core_probe.py`
recorded: where a small product beside 2^15 survives, the kernels cuBLASLt ran, and how many outputs
of every recorded GEMM `altgrad.gemm.tensor_core_mm` reproduces bit for bit.

    python bench/tensor_core_summary.py DIR --out bench/results   # DIR: the probe's $OUT
"""

import argparse, itertools, json, os, sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
import tensor_core_probe as probe
from report import publish
from altgrad.gemm import tensor_core_mm


def survival(src: str) -> tuple[list[str], dict]:
    "For each pair-probe GEMM and stretch of positions: the largest distance s (in binades) kept."
    d = np.load(os.path.join(src, "tensor_core_probes.npz"))
    lines, data = [], {}
    for key in sorted(k for k in d.files if k.startswith("pair") and not k.endswith("_meta")):
        meta, out = d[key + "_meta"], d[key].view(np.float32).astype(np.float64)
        kept = (out - 2.0**15) != 0
        for region, sel in (("j < 128", meta[:, 0] < 128), ("j >= 128", meta[:, 0] >= 128)):
            for m in (1.0, -1.0):
                rows = sel & (meta[:, 2] == m)
                if not rows.any():
                    continue
                last = int(meta[rows & kept, 1].max())
                lost = meta[rows & ~kept, 1]
                first_lost = int(lost.min()) if lost.size else None
                # every position of the stretch keeps the same distances: one threshold describes it
                same = all(
                    (meta[rows & (meta[:, 0] == j) & kept, 1].max() == last)
                    for j in np.unique(meta[rows, 0])
                )
                data[f"{key} {region} {m:+g}"] = {
                    "kept_up_to": last,
                    "lost_from": first_lost,
                    "same_at_every_position": bool(same),
                }
                lines.append(f"| {key} | {region} | {m:+g} | {last} | {first_lost} | {same} |")
    return lines, data


def reproduced(src: str) -> tuple[list[str], dict]:
    "Outputs of the random and study GEMMs that the model reproduces, per file and mode."
    lines, data = [], {}
    for file in ("small", "medium", "large"):
        d = np.load(os.path.join(src, f"tensor_core_random_{file}.npz"))
        tally = {}
        for base in sorted({k.rsplit("_seed", 1)[0] for k in d.files if k.endswith("_seed")}):
            fa, rest = base.split("x", 1)
            K, sign, dist = int(rest.split("_")[1][1:]), rest.split("_")[2], rest.split("_")[3]
            sa, sb = (int(s) for s in d[base + "_seed"])
            mn = 64 if file != "large" else 32
            a = probe.gaussian(sa, (mn, K), probe.FORMATS[fa], sign, dist == "wide")
            b = probe.gaussian(sb, (mn, K), probe.E4M3, sign, dist == "wide").T
            for s, out_name, mode in itertools.product((0, 1), ("f32", "bf16"), ("split", "fast")):
                scale_a, scale_b = (1.0, 1.0) if s == 0 else (0.3712, 1.7291e-2)
                out_dtype = torch.bfloat16 if out_name == "bf16" else torch.float32
                ours = tensor_core_mm(
                    a,
                    b,
                    scale_a,
                    scale_b,
                    out_dtype,
                    mode == "fast",
                    k_splits=6 if K == 16384 else 1,
                )
                bits = ours.view(torch.int16 if out_name == "bf16" else torch.int32).numpy()
                card = d[f"{base}_s{s}_{out_name}_{mode}"].reshape(bits.shape)
                hit = tally.setdefault(mode, [0, 0])
                hit[0], hit[1] = hit[0] + int((bits == card).sum()), hit[1] + card.size
        for mode, (same, total) in tally.items():
            data[f"random_{file} {mode}"] = {"identical": same, "outputs": total}
            lines.append(f"| random_{file} | {mode} | {same} | {total} |")
    return lines, data


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("src")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    kernels = json.load(open(os.path.join(args.src, "tensor_core_kernels.json")))
    names = sorted({" + ".join(k[:60] for k in g["kernels"]) for g in kernels["gemms"].values()})
    s_lines, s_data = survival(args.src)
    r_lines, r_data = reproduced(args.src)
    text = "\n".join(
        [
            f"# FP8 GEMM probes on {kernels['info']['device']}",
            "",
            f"torch {kernels['info']['torch']}, CUDA {kernels['info']['cuda']}; written by "
            "`bench/tensor_core_summary.py` from `bench/tensor_core_probe.py`'s files.",
            "",
            "## A small product m 2^(15-s) beside 2^15 (E5M2 x E4M3 ones; j: the small one's position)",
            "",
            "| GEMM | positions | m | kept up to s | lost from s | same at every position |",
            "|---|---|---|---|---|---|",
            *s_lines,
            "",
            "## Outputs `altgrad.gemm.tensor_core_mm` reproduces bit for bit (K = 16384: 6 splits)",
            "",
            "| GEMMs | accumulation | identical | outputs |",
            "|---|---|---|---|",
            *r_lines,
            "",
            "## cuBLASLt kernels that ran",
            "",
            *[f"- `{n}`" for n in names],
            "",
        ]
    )
    publish(
        text,
        args.out,
        "tensor_core_h100",
        {"survival": s_data, "reproduced": r_data, "info": kernels["info"]},
    )

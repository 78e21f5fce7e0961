"""The Triton rounding kernel against the plain rounding, bit for bit (nearest) and in distribution (stochastic).

Runs where Triton is installed: compiled on a CUDA GPU, else in Triton's interpreter on the CPU (a subprocess with
TRITON_INTERPRET=1). CI's CPU machine has no Triton (a 1 GB wheel): there bench/quantize.py's check on the GPU and
this file on a GPU or a developer's machine are the kernel's oracle."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("triton") is None, reason="needs Triton")

CHECK = r'''
import math, sys, torch
from altgrad.formats import get_format
from altgrad.quantize import _GridSpec, _round_cuda, _round_to_grid, quantize
device = "cuda" if torch.cuda.is_available() else "cpu"
g = torch.Generator().manual_seed(0)
n = 1 << 14
x = torch.randn(n, generator=g) * torch.exp2(torch.randint(-40, 40, (n,), generator=g).float())
x[:6] = torch.tensor([float("nan"), float("inf"), -0.0, 0.0, -float("inf"), 1e-45])
for name in sys.argv[1:]:  # "E3M0/b4": bias 4; "E4M3/nosub": no subnormals
    base, *options = name.split("/")
    fmt = get_format(base, bias=next((int(o[1:]) for o in options if o.startswith("b")), None),
                     subnormals=False if "nosub" in options else None)
    spec = _GridSpec.of(fmt)
    for dtype in (torch.float32, torch.bfloat16, torch.float16):
        xd = x.to(dtype)
        for saturate in (True, False):
            ref = _round_to_grid(xd.float(), spec, saturate, None).to(dtype)
            got = _round_cuda(xd.to(device), spec, saturate, False, None).cpu()
            same = ((ref == got) & (torch.signbit(ref) == torch.signbit(got))) | (ref.isnan() & got.isnan())
            bad = (~same).nonzero().flatten()[:4]
            assert same.all(), f"{name} {dtype} saturate={saturate}: x={xd[bad].tolist()} plain={ref[bad].tolist()} kernel={got[bad].tolist()}"
        q = _round_cuda(xd.to(device), spec, True, True, None).cpu()
        assert ((quantize(q.float(), fmt).to(dtype) == q) | q.isnan()).all(), f"{name} {dtype}: stochastic result off the grid"
        # 30% of a ULP above grid points: rounds up 30% of the time (the fraction that survived the cast to dtype)
        base = quantize(torch.rand(1 << 14, generator=g) * 4 + 0.5, fmt).clamp(fmt.min_normal, fmt.max_finite / 4)
        y = (base + 0.3 * fmt.ulp(base)).to(dtype)
        frac = (y.float() - base) / fmt.ulp(base)
        keep = frac > 0
        ups = torch.stack([((_round_cuda(y.to(device), spec, True, True, None).cpu().float() - base) / fmt.ulp(base))[keep]
                           for _ in range(4)])
        ratio = float((ups / frac[keep]).mean())
        assert abs(ratio - 1) < 0.03, f"{name} {dtype}: stochastic rounding up {ratio:.3f} of the expected odds"
print("ok")
'''


@pytest.mark.parametrize("names", [["E0M7", "E1M6", "E3M4"], ["E4M3", "E5M2", "E7M0"], ["E2M1", "E2M3", "E3M2", "E1M0"],
                                   ["E3M0/b4", "E4M3/nosub", "E5M2/nosub"]])
def test_kernel_matches_the_plain_rounding(names):
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=f"{root}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    if os.environ.get("CUDA_VISIBLE_DEVICES") == "" or not _has_cuda(): env["TRITON_INTERPRET"] = "1"
    done = subprocess.run([sys.executable, "-c", CHECK, *names], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]


def _has_cuda() -> bool:
    import torch
    return torch.cuda.is_available()

"""block_quantize against independent oracles, bit for bit: torchao's MX and NVFP4 reference code (CPU) for the
formats torchao has, and gfloat element by element for ExMy elements torchao lacks."""
import math

import numpy as np
import pytest
import torch

from altgrad.formats import get_format
from altgrad.quantize import block_quantize, block_scales

mx = pytest.importorskip("torchao.prototype.mx_formats.mx_tensor")
from torchao.prototype.mx_formats.config import ScaleCalculationMode  # noqa: E402
from torchao.prototype.mx_formats.constants import DTYPE_FP6_E2M3, DTYPE_FP6_E3M2  # noqa: E402
from torchao.prototype.mx_formats.kernels import f4_unpacked_to_f32, unpack_uint4  # noqa: E402
from torchao.prototype.mx_formats.nvfp4_tensor import nvfp4_quantize, per_tensor_amax_to_scale  # noqa: E402

ELEMENTS = {"E4M3": torch.float8_e4m3fn, "E5M2": torch.float8_e5m2, "E2M3": DTYPE_FP6_E2M3,
            "E3M2": DTYPE_FP6_E3M2, "E2M1": torch.float4_e2m1fn_x2}
MODES = {"floor": ScaleCalculationMode.FLOOR, "ceil": ScaleCalculationMode.CEIL,
         "even": ScaleCalculationMode.EVEN, "rceil": ScaleCalculationMode.RCEIL}


def hard_data(dtype: torch.dtype, block: int, seed: int = 0) -> torch.Tensor:
    """64 rows of 8 blocks: each block a normal sample times its own scale (1e-30 .. 1e30, log-uniform), with
    all-zero blocks, blocks of tiny values, blocks with one large outlier, exact powers of two and ties."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(64, 8, block, generator=g, dtype=torch.float64)
    x *= torch.exp(torch.empty(64, 8, 1, dtype=torch.float64).uniform_(math.log(1e-30), math.log(1e30), generator=g))
    x[0:4] = 0.0  # all-zero blocks
    x[4:8] *= 1e-25  # tiny blocks (amax ~1e-25 .. 1e-55: down to the edge of E8M0's range)
    x[8:16, :, 3] *= 1e4  # one outlier per block
    x[16:20] = torch.tensor([2.0 ** k for k in range(-8, 8)], dtype=torch.float64).repeat(block // 16 or 1)[:block]
    x[20:24] = torch.tensor([0.5 + k / 8 for k in range(16)], dtype=torch.float64).repeat(block // 16 or 1)[:block]
    return x.reshape(64, 8 * block).to(dtype)


def torchao_mx(x: torch.Tensor, element: str, mode: str) -> torch.Tensor:
    scale, data = mx.to_mx(x, ELEMENTS[element], 32, MODES[mode])
    return mx.to_dtype(data, scale, ELEMENTS[element], 32, x.dtype)


def same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    "Equal values, NaN where the other has NaN, and the same sign on zeros."
    both_nan = torch.isnan(a) & torch.isnan(b)
    return bool(torch.all(both_nan | ((a == b) & (torch.signbit(a) == torch.signbit(b)))))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("element", list(ELEMENTS))
def test_mx_matches_torchao_bit_for_bit(element, mode, dtype):
    x = hard_data(dtype, 32)
    ours, theirs = block_quantize(x, element, 32, "E8M0", mode), torchao_mx(x, element, mode)
    assert ours.dtype == theirs.dtype == dtype
    differ = ~((ours == theirs) | (torch.isnan(ours) & torch.isnan(theirs)))
    assert not differ.any(), f"{int(differ.sum())} of {x.numel()} differ, e.g. x={x[differ][:3].tolist()}: " \
                             f"ours {ours[differ][:3].tolist()} torchao {theirs[differ][:3].tolist()}"


def torchao_nvfp4(x: torch.Tensor, tensor_scale: bool) -> torch.Tensor:
    outer = per_tensor_amax_to_scale(x.abs().amax()) if tensor_scale else None
    scales, packed = nvfp4_quantize(x, 16, outer)
    values = f4_unpacked_to_f32(unpack_uint4(packed)).reshape(x.shape[0], -1, 16)
    scale = scales.to(torch.float32) if outer is None else outer * scales.to(torch.float32)
    return (values * scale.unsqueeze(-1)).reshape(x.shape).to(x.dtype)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("tensor_scale", [False, True], ids=["one-level", "two-level"])
def test_nvfp4_matches_torchao_bit_for_bit(tensor_scale, dtype):
    for data in (hard_data(dtype, 16), torch.randn(64, 256, generator=torch.Generator().manual_seed(1)).to(dtype)):
        ours = block_quantize(data, "E2M1", 16, "E4M3", tensor_scale=tensor_scale)
        theirs = torchao_nvfp4(data, tensor_scale)
        differ = ~((ours == theirs) | (torch.isnan(ours) & torch.isnan(theirs)))
        assert not differ.any(), f"{int(differ.sum())} differ: ours {ours[differ][:4].tolist()} torchao {theirs[differ][:4].tolist()}"


@pytest.mark.parametrize("element,scale_format", [("E3M4", "E8M0"), ("E1M6", "E8M0"), ("E3M4", "UE5M3"), ("E5M2", "E4M3")])
def test_exmy_elements_torchao_lacks_match_gfloat(element, scale_format):
    """For elements outside torchao: each value, times its block's reciprocal scale, rounds to the element format's
    nearest value by gfloat's rounding (ties to even, saturating), and comes back times the scale."""
    gfloat = pytest.importorskip("gfloat")
    from test_oracle import oracle  # gfloat's description of an AltGrad format (tests/ is on the path)
    fmt = get_format(element)
    x = hard_data(torch.float32, 32, seed=3)
    ours = block_quantize(x, element, 32, scale_format)
    into, back = block_scales(x, fmt, 32, scale_format)
    scaled = (x.unflatten(-1, (-1, 32)) * into).clamp(-fmt.max_finite, fmt.max_finite)
    rounded = gfloat.round_ndarray(oracle(fmt), scaled.double().numpy(), gfloat.RoundMode.TiesToEven, sat=True)
    expected = torch.from_numpy(rounded).float() * back
    assert same_bits(ours, expected.flatten(-2)), "block_quantize differs from gfloat's rounding of the scaled values"


def test_stochastic_rounding_is_unbiased_within_blocks():
    x = torch.full((4096, 32), 0.3)
    x[:, 0] = 6.0  # the block max, so the scale is 1 for E2M1 (floor: 2^(2 - 2))
    mean = block_quantize(x, "E2M1", rounding="stochastic", generator=torch.Generator().manual_seed(0))[:, 1:].mean()
    assert abs(float(mean) - 0.3) < 0.005  # 0.3 lies between 0 and 0.5: nearest would give 0.5

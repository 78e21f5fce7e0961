"""Every registered format (and custom variants) against the independent `gfloat` oracle:
decoding of every code, rounding of every code, every midpoint, random values at scales 1e-6..1e5,
overflow and underflow — for `to_real`, `to_bits` and `quantize` (float32 and float64 inputs)."""
import numpy as np
import pytest
import torch

gfloat = pytest.importorskip("gfloat")
from gfloat import Domain, FormatInfo, RoundMode, decode_ndarray, round_ndarray

from altgrad.formats import FORMAT_REGISTRY, FPFormat, get_format
from altgrad.quantize import quantize

VARIANTS = [
    get_format("E4M3", bias=8), get_format("E5M2", bias=13), get_format("E3M4", bias=4),
    get_format("E4M3", specials="ieee"), get_format("E5M2", specials="none"), get_format("E2M5"),
    get_format("E6M1"), get_format("E5M0", specials="ieee"), get_format("E4M3", subnormals=False),
    get_format("E5M2", subnormals=False), get_format("E2M1", subnormals=False), get_format("E0M3", bias=-2),
    get_format("E8M2"), get_format("E1M10"),
]
FORMATS = list(FORMAT_REGISTRY.values()) + VARIANTS


def oracle(fmt: FPFormat) -> FormatInfo:
    "gfloat's description of the same format."
    return FormatInfo(fmt.name, k=fmt.bits, precision=fmt.M + 1, bias=fmt.bias, is_signed=True,
                      domain=Domain.Extended if fmt.specials == "ieee" else Domain.Finite, has_nz=True,
                      num_high_nans={"ieee": 2 ** fmt.M - 1, "fn": 1, "none": 0}[fmt.specials],
                      has_subnormals=fmt.subnormals or fmt.E == 0, is_twos_complement=False)


def probe_values(fmt: FPFormat, seed: int = 0) -> np.ndarray:
    "Every grid value, every midpoint (and its float neighbours), random values over 1e-6..1e5, overflow."
    g = fmt.grid
    ext = np.append(g, g[-1] + fmt.ulp(g[-1]))
    mids = (ext[:-1] + ext[1:]) / 2
    near = np.concatenate([np.nextafter(mids, 0), np.nextafter(mids, np.inf)])
    rng = np.random.default_rng(seed)
    rand = rng.standard_normal(20000) * 10.0 ** rng.uniform(-6, 5, 20000)
    scaled = rng.standard_normal(20000) * fmt.max_finite * 10.0 ** rng.uniform(-3, 0.5, 20000)
    tiny = rng.uniform(0, 3 * fmt.min_subnormal, 5000)
    big = np.array([fmt.max_finite * 1.5, fmt.max_finite * 4, 1e30, np.inf])
    v = np.concatenate([g, mids, near, rand, scaled, tiny, big])
    return np.concatenate([v, -v])


def gfloat_valid(fmt: FPFormat, v: np.ndarray) -> np.ndarray:
    """Where gfloat's rounding is defined for this format. Without subnormals gfloat rounds values below the
    smallest normal inside a binade the format does not have; there the table oracle (to_bits) decides."""
    if fmt.subnormals or fmt.E == 0: return np.ones(v.shape, bool)
    return np.abs(v) >= fmt.min_subnormal


def same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    "Elementwise equality that also requires equal signs of zero and treats NaN == NaN."
    return ((a == b) & (np.signbit(a) == np.signbit(b))) | (np.isnan(a) & np.isnan(b))


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_decode_every_code(fmt):
    fi = oracle(fmt)
    codes = np.arange(2 ** fmt.bits)
    ref = decode_ndarray(fi, codes)
    assert same(fmt.values, ref).all(), np.flatnonzero(~same(fmt.values, ref))[:10]
    assert fmt.max_finite == fi.max
    assert fmt.num_finite_codes == int(np.isfinite(ref).sum())


@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_every_code_round_trips(fmt):
    codes = np.arange(2 ** fmt.bits)
    finite = np.isfinite(fmt.values)
    assert (fmt.to_bits(fmt.values[finite]) == codes[finite]).all()
    x = torch.from_numpy(fmt.values[finite])
    assert same(quantize(x, fmt).numpy(), fmt.values[finite]).all()


@pytest.mark.parametrize("saturate", [True, False])
@pytest.mark.parametrize("fmt", FORMATS, ids=lambda f: f.name)
def test_rounding_matches_gfloat(fmt, saturate):
    if not saturate and not fmt.has_nan:
        pytest.skip("no inf or NaN: overflow without saturation is undefined for this format")
    v = probe_values(fmt)
    ok = gfloat_valid(fmt, v)
    ref = round_ndarray(oracle(fmt), v[ok], RoundMode.TiesToEven, sat=saturate)
    table = fmt.to_real(fmt.to_bits(v, saturate=saturate))
    q64 = quantize(torch.from_numpy(v), fmt, saturate=saturate).numpy()
    for name, got in [("to_bits", table[ok]), ("quantize float64", q64[ok])]:
        bad = ~same(got, ref)
        assert not bad.any(), f"{name}: {bad.sum()} disagreements, e.g. x={v[ok][bad][:5]} got={got[bad][:5]} want={ref[bad][:5]}"
    # the table oracle covers everything gfloat does not
    assert same(q64, table).all()
    if fmt.fits_float32:
        with np.errstate(over="ignore"):
            v32 = v.astype(np.float32)  # values past float32's range become inf, a case worth probing too
        ok32 = gfloat_valid(fmt, v32.astype(np.float64))
        ref32 = round_ndarray(oracle(fmt), v32[ok32].astype(np.float64), RoundMode.TiesToEven, sat=saturate)
        q32 = quantize(torch.from_numpy(v32), fmt, saturate=saturate).double().numpy()
        bad = ~same(q32[ok32], ref32)
        assert not bad.any(), f"quantize float32: {bad.sum()} disagreements, e.g. x={v32[ok32][bad][:5]}"


@pytest.mark.parametrize("fmt", [get_format(n) for n in ["E4M3", "E5M2", "E3M4", "E7M0", "E0M7", "E1M6"]]
                         + [get_format("E4M3", subnormals=False)], ids=lambda f: f.name)
def test_stochastic_rounding_lands_on_neighbours_with_the_right_odds(fmt):
    g = torch.Generator().manual_seed(0)
    grid = torch.from_numpy(fmt.grid)
    lo = grid[1:-1:max(1, len(grid) // 16)].contiguous()
    idx = torch.searchsorted(grid, lo)
    hi = grid[idx + 1]
    frac = torch.tensor([0.1, 0.5, 0.875], dtype=torch.float64)
    x = (lo[:, None] + frac[None] * (hi - lo)[:, None]).flatten()
    n = 4000
    q = quantize(x.repeat(n, 1), fmt, rounding="stochastic", generator=g)
    lo_r, hi_r = lo.repeat_interleave(3), hi.repeat_interleave(3)
    assert ((q == lo_r) | (q == hi_r)).all()
    p_up = (q == hi_r).double().mean(0)
    expected = frac.repeat(len(lo))
    assert (p_up - expected).abs().max() < 5 * np.sqrt(0.25 / n)

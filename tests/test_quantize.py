"""quantize on the shapes and layouts training produces, scalers on multi-dimensional tensors, reproducibility."""
import torch

from altgrad.formats import get_format
from altgrad.casts import GemmRecipe
from altgrad.quantize import CurrentScaling, DelayedScaling, MXScaling, fake_quant, quantize, scaled_quantize


def test_non_contiguous_and_multi_dimensional_inputs():
    x = torch.randn(8, 16, 33)
    t = x.transpose(0, 2)  # non-contiguous view
    assert torch.equal(quantize(t, "E4M3"), quantize(t.contiguous(), "E4M3"))
    assert quantize(t, "E4M3").shape == t.shape


def test_stochastic_rounding_is_reproducible_with_a_generator():
    x = torch.randn(1000)
    a = quantize(x, "E5M2", "stochastic", generator=torch.Generator().manual_seed(3))
    b = quantize(x, "E5M2", "stochastic", generator=torch.Generator().manual_seed(3))
    c = quantize(x, "E5M2", "stochastic", generator=torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_mx_scaling_blocks_along_the_last_dim_of_a_matrix():
    x = torch.randn(4, 64)
    small = x.clone()
    small[1, :32] *= 2.0 ** -13  # one block of one row is tiny
    y, y_small = scaled_quantize(x, "E4M3", MXScaling()), scaled_quantize(small, "E4M3", MXScaling())
    # each block has its own power-of-two scale: the tiny block is the original one, exactly scaled down
    assert torch.equal(y_small[1, :32], y[1, :32] * 2.0 ** -13)
    assert torch.equal(y_small[1, 32:], y[1, 32:]) and torch.equal(y_small[[0, 2, 3]], y[[0, 2, 3]])
    # OCP MX: the shared scale maps the block's amax into E4M3's top binade, where values above 448 = 1.75 * 2^8
    # saturate, so the relative error stays below (2 - 1.75) / 2
    assert ((y - x).abs() / x.abs()).max() <= 0.125


def test_per_tensor_scalers_keep_values_exactly_on_the_scaled_grid():
    x = torch.randn(256) * 1e-3  # far below E3M4's smallest value (0.0625) unscaled
    delayed = DelayedScaling()
    delayed.record(x)  # a history, as after calibration
    for scaler in (CurrentScaling(), delayed):
        scale = scaler.scale_for(x, get_format("E3M4"))
        y = scaled_quantize(x, "E3M4", scaler)
        assert (y != 0).float().mean() > 0.9  # the scale brought the values into range
        assert torch.equal(quantize(y * scale, "E3M4"), y * scale)  # power-of-two scale: exactly on the grid


def test_fake_quant_with_a_scaler_passes_gradients_straight_through():
    x = torch.randn(3, 32, requires_grad=True)
    y = fake_quant(x, "E2M1", MXScaling())
    y.sum().backward()
    assert torch.equal(x.grad, torch.ones_like(x))


def test_quant_stats_in_chunks_counts_like_whole_tensors():
    from altgrad.device import read_back
    from altgrad.casts import quant_stats
    from altgrad.quantize import quantize
    torch.manual_seed(0)
    x = torch.randn(1000) * 3e4
    x[::97] = float("nan")
    x[5::89] = 1e-9
    q, scale = quantize(x, "E5M2"), torch.tensor(4.0)
    whole = read_back(quant_stats(x, q, scale, get_format("E5M2"), chunk=x.numel()))
    assert whole == read_back(quant_stats(x, q, scale, get_format("E5M2"), chunk=7))
    assert whole["overflow"] > 0 and whole["underflow"] > 0 and whole["nonfinite"] == 11


def test_gradient_counters_see_the_gradient_before_it_is_projected():
    """An output gradient spanning 2^-20..1 in E0M7 must count its flushed values. By hand: current power-of-two
    scaling maps amax 1 below max_finite 127/128 with scale 1/2; E0M7's step is 1/128, so g/2 < 1/256 (g < 2^-7)
    rounds to 0 — the values 2^(-20 + 20i/63) with i <= 40, 41 of them."""
    import torch.nn as nn
    from altgrad.device import read_back
    from altgrad.layers import QuantizedLinear
    layer = QuantizedLinear(nn.Linear(4, 64, bias=False), GemmRecipe.per_tensor(grad="E0M7", scaling="current"))
    layer.collect_stats = True
    y = layer(torch.randn(1, 4))
    y.backward(torch.logspace(-20, 0, 64, base=2.0).reshape(1, 64))
    counts = read_back(layer.stats["grad"])
    assert counts["numel"] == 64
    assert counts["underflow"] == 41

"""The runner measures all layers of a format at once (Segments); these tests compare it with layer-by-layer
measurement on fresh random weights, with two formats and per-tensor scalers in one model."""
import math

import torch
import torch.nn as nn

from altgrad.diagnostics import gradient_stiffness_correlation, ulp_statistics
from altgrad.device import read_back
from altgrad.casts import GemmRecipe
from altgrad.layers import QuantizedLinear
from altgrad.stability import BitStallDetector


def _model():
    torch.manual_seed(0)
    layers = nn.Sequential(QuantizedLinear(nn.Linear(16, 8), GemmRecipe.per_tensor(weight="E3M4", scaling="current")),
                           QuantizedLinear(nn.Linear(8, 8), GemmRecipe.per_tensor(weight="E5M2", scaling="current")),
                           QuantizedLinear(nn.Linear(8, 4), GemmRecipe.per_tensor(weight="E3M4", scaling="none")))
    return layers


def _scale(layer):
    if "weight" not in layer.scalers: return torch.tensor(1.0)
    return layer.scalers["weight"].scale_for(layer.weight.detach(), layer.formats["weight"])


def _project(layer, w):
    s = _scale(layer)
    from altgrad.quantize import quantize
    return quantize(w * s, layer.formats["weight"]) / s


def test_bit_stall_by_format_matches_layer_by_layer():
    model = _model()
    detector = BitStallDetector(model)
    before = {n: (l.weight.detach().clone(), _project(l, l.weight.detach())) for n, l in detector.layers.items()}
    detector.before_step()
    with torch.no_grad():
        for l in model: l.weight.add_(0.02 * torch.randn_like(l.weight) * (torch.rand_like(l.weight) < 0.7))
    report = detector.after_step()
    for name, layer in detector.layers.items():
        w0, q0 = before[name]
        updated = layer.weight.detach() != w0
        flips = int((updated & (_project(layer, layer.weight.detach()) != q0)).sum())
        assert report["layers"][name]["updates"] == int(updated.sum())
        assert report["layers"][name]["flips"] == flips
    assert {f.name for f in detector.flat} == {"E3M4", "E5M2"}
    assert detector.flat[next(f for f in detector.flat if f.name == "E3M4")]["names"] == ["0", "2"]


def _same(a: float, b: float, eps: float = 1e-9) -> bool:
    "Equal to `eps`, NaN matching NaN (a correlation with a constant side: weights all in the subnormal range)."
    return (math.isnan(a) and math.isnan(b)) or abs(a - b) < eps


def test_flat_statistics_match_layer_by_layer():
    model = _model()
    detector = BitStallDetector(model)
    before = {n: l.weight.detach().clone() for n, l in detector.layers.items()}
    detector.before_step()
    with torch.no_grad():
        for l in model: l.weight.add_(0.05 * torch.randn_like(l.weight))
    detector.after_step()
    for fmt, flat in detector.flat.items():
        together = read_back(ulp_statistics(flat["before"], flat["stored"], fmt, flat["scale"], flat["segments"]))
        update = read_back(gradient_stiffness_correlation(flat["stored"] - flat["before"], flat["before"], fmt,
                                                          flat["scale"], flat["segments"]))
        for i, name in enumerate(flat["names"]):
            layer = detector.layers[name]
            alone = read_back(ulp_statistics(before[name], layer.weight, fmt, _scale(layer)))
            for key, value in alone.items(): assert _same(together[key][i], value), (name, key)
            alone = read_back(gradient_stiffness_correlation(layer.weight - before[name], before[name], fmt, _scale(layer)))
            # the correlation's logs are shifted by their mean over all layers, in float32: equal to 1e-6
            for key, value in alone.items():
                assert _same(update[key][i], value, 1e-6 if key == "log_correlation" else 1e-9), (name, key)

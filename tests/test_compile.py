"""The compiled model (as Trainer compiles it) matches eager, also when one process compiles format after format
(a sweep worker): the formats' numbers must stay compile-time constants. Runs on the CPU backend of inductor."""
import copy

import pytest
import torch

from altgrad.config import load_config
from altgrad.quantize import calibrate_scalers
from altgrad.train import build_model, compile_model


def test_formats_compiled_one_after_another_match_eager():
    torch._dynamo.reset()
    x, y = torch.randint(0, 256, (2, 16)), torch.randint(0, 256, (2, 16))
    for fmt, scaling in [("E5M2", "delayed"), ("E3M4", "current"), ("E2M1", "mx")]:
        cfg = load_config(use_fp8=True, fp8_format=fmt, scaling=scaling, n_layer=1, n_embd=32, n_head=2,
                          block_size=16, vocab_size=256)
        model, _ = build_model(cfg)
        calibrate_scalers(model, x)
        eager = copy.deepcopy(model)
        compiled_loss = compile_model(model, cfg)(x, y)[1]
        compiled_loss.backward()
        eager_loss = eager(x, y)[1]
        eager_loss.backward()
        assert compiled_loss.item() == pytest.approx(eager_loss.item(), rel=1e-5)
        for p, q in zip(model.parameters(), eager.parameters()):
            torch.testing.assert_close(p.grad, q.grad, rtol=1e-4, atol=1e-6)

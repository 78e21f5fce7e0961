"""Every shipped config loads, and the study configs share model, data order and seed."""
from pathlib import Path

import pytest

from altgrad.config import load_config
from altgrad.narrative import model_parameters
from altgrad.build import build_model

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_config_loads(path):
    config = load_config(path)
    assert config.run_name == path.stem


def test_study_configs_differ_only_in_formats():
    shared = ("n_layer", "n_head", "n_embd", "block_size", "batch_size", "learning_rate", "seed", "warmup_steps")
    configs = [load_config(p) for p in CONFIGS]
    for key in shared:
        assert len({getattr(c, key) for c in configs}) == 1, key
    assert {c.max_steps for c in configs if c.run_name.endswith("_uniform")} == {500}


def test_placement_configs_quantize_one_layer_type():
    _, placement = build_model(load_config("e3m4_mlp_only", n_layer=1))
    formats = placement.formats()
    quantized = {name for name, roles in formats.items() if roles["weight"] == "E3M4"}
    assert quantized == {"transformer.h.0.mlp.c_fc", "transformer.h.0.mlp.c_proj"}
    assert formats["lm_head"]["weight"] == "bf16"


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "configs" / "recipes").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_named_recipes_build_a_model(path):
    # six blocks, as the study model: a recipe may name its last block (nvfp4_bf16_last)
    _, placement = build_model(load_config(recipe=path.stem, n_layer=6, n_embd=32, n_head=2, vocab_size=64, block_size=16))
    assert (placement is None) == (path.stem == "bf16")


@pytest.mark.parametrize("path", sorted((Path(__file__).resolve().parents[1] / "configs" / "models").glob("*.yaml")),
                         ids=lambda p: p.stem)
def test_each_ladder_rung_has_the_size_its_name_says(path):
    "configs/models/gpt_<N>m: N million parameters outside the embedding (bench/ladder.py writes them)."
    config = load_config(f"models/{path.stem}")
    outside, _ = model_parameters(config.to_dict())
    assert round(outside / 1e6) == int(path.stem.split("_")[1].rstrip("m"))
    assert config.n_embd // config.n_head == 64 and config.vocab_size == 50257

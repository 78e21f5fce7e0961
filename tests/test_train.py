"""Training stack on the CPU: exact resumption, run directories, W&B offline, data preparation safety."""
import json
import os
import sys
from pathlib import Path

import pytest
import torch

from altgrad.config import load_config
from altgrad.data import TokenData, gpt2_tokenizer, is_prepared, prepare
from altgrad.files import read_metrics
from altgrad.rundir import CheckpointManager
from altgrad.train import Trainer

TINY = dict(n_layer=2, n_head=2, n_embd=32, block_size=32, batch_size=4, max_steps=8, warmup_steps=2,
            learning_rate=1e-2, eval_interval=4, eval_iters=2, log_interval=1, checkpoint_interval=4,
            diagnostic_interval=3, device="cpu")


@pytest.fixture(scope="session")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("data")
    prepare(d)
    return TokenData(d)


@pytest.mark.parametrize("settings", [
    dict(recipe="bf16"),
    dict(recipe={"base": "E5M2", "grad": {"rounding": "stochastic"}}),
    dict(recipe={"base": "E3M4", "weight": {"scaling": "current"}, "activation": {"scaling": "current"}}, use_shadow=False),
    dict(recipe="E5M2", use_manifold_aware=True),
    dict(recipe="E3M4", optimizer="grid"),
    dict(recipe="mxfp8", use_shadow=False),
    dict(recipe="nvfp4", optimizer="grid"),
], ids=["bf16", "e5m2-delayed-sr", "e3m4-stored", "e5m2-manifold", "e3m4-grid", "mxfp8-stored", "nvfp4-grid"])
def test_resume_reproduces_the_uninterrupted_trajectory(data, tmp_path, settings):
    cfg = load_config(**TINY, **settings, checkpoint_dir=str(tmp_path))
    straight = Trainer(cfg, data)
    losses = [straight.train_step()["loss"] for _ in range(8)]

    first = Trainer(cfg, data)
    head = [first.train_step()["loss"] for _ in range(4)]
    path = CheckpointManager(tmp_path / "ckpt").save(first.state_dict(), first.step)
    torch.manual_seed(12345)  # whatever happened in between must not matter
    second = Trainer(cfg, data)
    second.resume(path)
    tail = [second.train_step()["loss"] for _ in range(4)]
    assert head + tail == losses


def test_optimizer_choice_and_its_metrics(data, tmp_path):
    from altgrad.optim import GridOptim, ManifoldAdamW
    from altgrad.probes import Probes
    def measured(trainer):  # the optimizers' own statistics are the measurement layer's to read
        trainer.hooks.append(Probes(trainer))
        return trainer
    manifold = measured(Trainer(load_config(**TINY, recipe="E5M2", use_manifold_aware=True, checkpoint_dir=str(tmp_path)), data))
    assert isinstance(manifold.optimizer, ManifoldAdamW) and manifold.optimizer.mode == "update"
    assert manifold.train_step()["optim/ulp_movement"] > 0
    grid = measured(Trainer(load_config(**TINY, recipe="E5M2", optimizer="grid", checkpoint_dir=str(tmp_path)), data))
    assert isinstance(grid.optimizer, GridOptim)
    metrics = grid.train_step()
    assert 0 < metrics["optim/flips"] <= metrics["optim/updates"]


def test_run_directory_and_wandb_offline(data, tmp_path, monkeypatch):
    monkeypatch.delenv("WANDB_MODE", raising=False)
    monkeypatch.setenv("WANDB_SILENT", "true")
    cfg = load_config(**TINY, recipe="E5M2", project="altgrad-test", run_name="offline", tags=["ci"],
                      checkpoint_dir=str(tmp_path))
    summary = Trainer(cfg, data).fit(progress=False)
    run = tmp_path / "offline"
    assert summary["completed"] and summary["final_val_loss"] is not None
    assert json.loads((run / "summary.json").read_text())["steps"] == 8
    assert [r["step"] for r in read_metrics(run)][:3] == [0, 1, 2]
    assert list((run / "wandb").glob("offline-run-*")), "W&B wrote no offline run"


def test_a_restarted_run_replaces_the_metrics_of_an_interrupted_attempt(data, tmp_path):
    cfg = load_config(**TINY, run_name="again", checkpoint_dir=str(tmp_path))
    interrupted = Trainer(cfg, data)
    interrupted.config = load_config(**TINY | dict(max_steps=3), run_name="again", checkpoint_dir=str(tmp_path))
    interrupted.fit(progress=False)  # an attempt that stopped early, with no checkpoint to resume from
    Trainer(cfg, data).fit(progress=False)
    steps = [r["step"] for r in read_metrics(tmp_path / "again")]
    assert steps == sorted(set(steps)) and steps[-1] == 7


def test_a_wandb_failure_never_stops_training(data, tmp_path, monkeypatch):
    import wandb

    def broken(*args, **kwargs): raise RuntimeError("no W&B today")
    monkeypatch.setattr(wandb, "init", broken)
    cfg = load_config(**TINY, project="altgrad-test", run_name="nowandb", checkpoint_dir=str(tmp_path))
    with pytest.warns(UserWarning, match="W&B could not start"):
        summary = Trainer(cfg, data).fit(progress=False)
    assert summary["completed"]
    assert (tmp_path / "nowandb" / "metrics.jsonl").exists()


def test_tokenizer_needs_no_network(monkeypatch):
    import socket

    def no_network(*args, **kwargs): raise OSError("network disabled in this test")
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    gpt2_tokenizer.cache_clear()
    enc = gpt2_tokenizer()
    assert enc.encode("The Commission shall adopt implementing acts.") == enc.encode_ordinary(
        "The Commission shall adopt implementing acts.")
    assert enc.encode("Hello world") == [15496, 995]


def test_prepare_is_atomic_and_keyed_by_its_request(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n<|endoftext|>\n".join(f"Article {i}. The Member States shall comply." for i in range(20)))
    out = tmp_path / "prepared"
    meta = prepare(out, "text", corpus, val_fraction=0.2)
    assert meta["files"]["val"]["documents"] == 4
    # a preparation killed after writing train.bin but before meta.json is never trusted
    (out / "meta.json").unlink()
    (out / "train.bin").write_bytes(b"\x00\x01")
    assert not is_prepared(out)
    assert prepare(out, "text", corpus, val_fraction=0.2)["files"] == meta["files"]
    # a different request (split) is prepared anew, not served from the old files
    assert prepare(out, "text", corpus, val_fraction=0.5)["files"]["val"]["documents"] == 10
    assert not list(out.glob(".*.tmp"))


def test_damaged_checkpoint_is_reported(tmp_path):
    bad = tmp_path / "step_0000001.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(ValueError, match="damaged"):
        CheckpointManager.load(bad)


def test_best_val_loss_covers_every_evaluation_and_survives_resume(data, tmp_path):
    """Without checkpoints (as in a sweep) and for a run that stops before its first checkpoint, the summary still
    has the best validation loss; a resumed trainer continues from the saved best."""
    cfg = load_config(**TINY, save_checkpoints=False, checkpoint_dir=str(tmp_path), run_name="nockpt")
    summary = Trainer(cfg, data).fit(progress=False)
    evaluated = [r["val_loss"] for r in read_metrics(tmp_path / "nockpt") if "val_loss" in r]
    assert len(evaluated) == 2 and summary["best_val_loss"] == min(evaluated)
    first = Trainer(cfg, data)
    first.best_val_loss = 1.5
    second = Trainer(cfg, data)
    second.load_state_dict(first.state_dict())
    assert second.best_val_loss == 1.5


@pytest.mark.parametrize("scaling", ["delayed", "current"])
def test_e1m6_trains_exactly_as_e0m7(data, tmp_path, scaling):
    """E1M6 (bias 0) is E0M7's grid times 4, and power-of-two scales differ by exactly 4 between them, so the two
    train bit for bit alike. (The 93-run study's E1M6 runs differed from step 0: delayed scaling's calibration
    projected its first pass at scale 1, onto each format's own range; it now scales that pass by the tensor.)"""
    def losses(fmt):
        recipe = {"base": fmt} | ({} if scaling == "delayed" else {"weight": {"scaling": "current"}, "activation": {"scaling": "current"}})
        trainer = Trainer(load_config(**TINY, recipe=recipe, checkpoint_dir=str(tmp_path)), data)
        return [trainer.train_step()["loss"] for _ in range(6)]
    assert losses("E1M6") == losses("E0M7")


def test_a_larger_max_steps_extends_the_run_and_resume_takes_a_path(data, tmp_path):
    cfg = load_config(**TINY, run_name="grow", checkpoint_dir=str(tmp_path))  # checkpoints at steps 4 and 8
    Trainer(cfg, data).fit(progress=False)
    longer = Trainer(load_config(**TINY | dict(max_steps=12), run_name="grow", checkpoint_dir=str(tmp_path)), data)
    assert longer.fit(progress=False)["steps"] == 12
    assert [r["step"] for r in read_metrics(tmp_path / "grow")] == list(range(12))  # 0..7, then 8..11: none twice
    # resume: PATH continues from that checkpoint (here the one of step 8, in the same run directory)
    path = tmp_path / "grow" / "checkpoints" / "step_0000008.pt"
    again = Trainer(load_config(**TINY | dict(max_steps=12), run_name="grow", checkpoint_dir=str(tmp_path), resume=str(path)), data)
    again.fit(progress=False)
    assert again.step == 12 and [r["step"] for r in read_metrics(tmp_path / "grow")] == list(range(12))


@pytest.mark.parametrize("recipe", ["E5M2", "mxfp8", "nvfp4", "fp8_tensor_h100"])
def test_a_late_switch_to_high_precision_computes_as_an_unquantized_model(data, tmp_path, recipe):
    "high_precision_from: from that step, the quantized model's loss and gradients are an unquantized copy's."
    switched = Trainer(load_config(**TINY, recipe=recipe, high_precision_from=3, checkpoint_dir=str(tmp_path)),
                       data)
    records = [switched.train_step() for _ in range(4)]
    assert [r.get("event/high_precision") for r in records] == [None, None, None, 1]
    plain = Trainer(load_config(**TINY, checkpoint_dir=str(tmp_path / "plain")), data)
    plain.model.load_state_dict(switched.model.state_dict(), strict=False)
    x, y = data.get_batch("train", 9, 4, TINY["block_size"])
    assert torch.equal(switched.model(x, y)[1], plain.model(x, y)[1])


def test_a_run_resumed_past_its_switch_stays_switched(data, tmp_path):
    config = load_config(**TINY, recipe="E5M2", high_precision_from=2, checkpoint_dir=str(tmp_path))
    first = Trainer(config, data)
    for _ in range(4): first.train_step()
    second = Trainer(config, data)
    second.load_state_dict(first.state_dict())
    assert "event/high_precision" not in second.train_step() and second.high_precision  # logged at step 2

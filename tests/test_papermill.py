"""The user's command: papermill runs nbs/run_format.ipynb with injected parameters (which must take effect),
and a bad config fails the papermill run with a message naming the problem."""
import json
from pathlib import Path

import pytest

papermill = pytest.importorskip("papermill")

ROOT = Path(__file__).resolve().parents[1]
TINY = dict(n_layer=1, n_head=2, n_embd=32, block_size=32, batch_size=2, warmup_steps=1, eval_interval=3,
            eval_iters=1, diagnostic_interval=2, checkpoint_interval=3)


def run(tmp_path, **parameters):
    return papermill.execute_notebook(str(ROOT / "nbs" / "run_format.ipynb"), str(tmp_path / "out.ipynb"),
                                      parameters=parameters, cwd=str(ROOT), kernel_name="python3", progress_bar=False)


def test_injected_parameters_take_effect(tmp_path):
    "Also a checkpoint_dir given in the overrides (no out_dir), and the device recorded as given."
    run(tmp_path, config="e7m0_uniform.yaml", max_steps=3, device="cpu",
        overrides=TINY | dict(checkpoint_dir=str(tmp_path / "runs")))
    summary = json.loads((tmp_path / "runs" / "e7m0_uniform" / "summary.json").read_text())
    assert summary["steps"] == 3
    assert "device: cpu" in (tmp_path / "runs" / "e7m0_uniform" / "config.yaml").read_text()
    assert summary["result"]["formats"] == ["E7M0"]
    assert (tmp_path / "runs" / "e7m0_uniform" / "curves.png").exists()


def test_a_bad_config_fails_the_run_with_its_name(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match="did you mean 'max_steps'"):
        run(tmp_path, config="e7m0_uniform.yaml", device="cpu", out_dir=str(tmp_path / "runs"),
            overrides={"max_step": 3})


def test_a_misspelt_parameter_stops_the_run_naming_it(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match=r"unknown papermill parameter 'max_step' \(did you mean 'max_steps'\?\)"):
        run(tmp_path, config="e7m0_uniform.yaml", max_step=3, device="cpu", out_dir=str(tmp_path / "runs"))
    assert not (tmp_path / "runs").exists()  # stopped before anything trained

"""Same numbers? The training losses and gradient norms of study runs' first steps, to compare two versions of the code.

Run from the repository root of each version on the same GPU, then compare the two files:
    python bench/losses.py STEPS RUN [RUN ...] > losses.json

Each named run of `configs/sweeps/study.yaml` (its config, its full schedule and diagnostics sampling, the EUR-Lex
corpus at data/eurlex_en.txt.gz) trains STEPS steps through FormatExperimentRunner's hooks, as in a sweep. Writes
{run: {loss: [...], grad_norm: [...], plain_step_ms: median step_ms after the first five steps}} as JSON.
"""
import json
import sys
import tempfile

from altgrad.config import load_config
from altgrad.runner import FormatExperimentRunner
from altgrad.sweep import load_sweep


def main():
    steps, names = int(sys.argv[1]), sys.argv[2:]
    runs = {r.name: r for r in load_sweep("configs/sweeps/study.yaml")[2]}
    out = {}
    for name in names:
        spec = runs[name]
        with tempfile.TemporaryDirectory() as run_dir:
            config = load_config(spec.base, **spec.settings | spec.overrides | dict(
                data_source="text", data_path="data/eurlex_en.txt.gz", checkpoint_dir=run_dir, run_name=name,
                wandb_mode="disabled"))
            trainer = FormatExperimentRunner(config).trainer
            rows = [trainer.train_step() for _ in range(steps)]
            later = sorted(r["step_ms"] for r in rows[5:])
            out[name] = dict(loss=[r["loss"] for r in rows], grad_norm=[r["grad_norm"] for r in rows],
                             plain_step_ms=later[len(later) // 2] if later else None)
            del trainer
    print(json.dumps(out))


if __name__ == "__main__":
    main()

"""How good the progress line's time left is: one run of a config in this process, recording after
every step the trainer's estimate of the time left and the wall clock, then the estimate against the
time the rest really took, from a third of the way in (by default the README's quick run, CPU).

    python bench/eta.py --out bench/results   # e7m0_uniform as the README's quick run
"""

import argparse, json, sys, tempfile, time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from report import publish
from altgrad.config import load_config
from altgrad.runner import FormatExperimentRunner

QUICK = dict(max_steps=30, device="cpu", batch_size=2, eval_iters=2, warmup_steps=5)

if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default="e7m0_uniform")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as d:
        runner = FormatExperimentRunner(load_config(args.config, **QUICK, checkpoint_dir=d))
        trainer, marks = runner.trainer, []
        original = trainer.seconds_left

        def recorded():
            left = original()
            marks.append((trainer.step, time.perf_counter(), left))
            return left

        trainer.seconds_left = recorded
        runner.run(progress=True)
        end = time.perf_counter()
    total = QUICK["max_steps"]
    rows = [
        (step, left, end - at) for step, at, left in marks if step >= total / 3 and step < total
    ]
    errors = [(left - actual) / actual for _, left, actual in rows]
    lines = [
        f"# Time left as the progress line says it, against the time the rest took ({args.config}, "
        f"{json.dumps(QUICK)})",
        "",
        f"From step {rows[0][0]} of {total} on: estimate / actual - 1 between "
        f"{min(errors):+.0%} and {max(errors):+.0%}.",
        "",
        "| steps trained | estimated s left | actual s left | error |",
        "|---|---|---|---|",
        *[
            f"| {s} | {left:.1f} | {actual:.1f} | {(left - actual) / actual:+.0%} |"
            for s, left, actual in rows
        ],
        "",
    ]
    publish("\n".join(lines), args.out, "eta_cpu", {"quick": QUICK, "rows": rows})

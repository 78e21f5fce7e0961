"""Where a study run's start goes: one run of a sweep file in this process under cProfile.

    python bench/startup.py --data-path CORPUS.txt.gz [--run e5m2_uniform_adamw_s42] [--steps 110] [--top 40] [KEY=VALUE ...]

Runs the run as a sweep worker would (`altgrad.pool.run_one`), cut to `steps` steps, and prints its summary's time
split (`seconds`: setup, first steps, first evaluation, ...) and the functions with the most cumulative and own time.
Run it twice in two processes to see what the on-disk compile caches (Inductor's, Triton's) save the second.
"""
import argparse
import cProfile
import io
import json
import pstats
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from altgrad.config import parse_overrides
from altgrad.sweep import load_sweep
from altgrad.pool import run_one


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-path", required=True)
    parser.add_argument("--sweep", default="configs/sweeps/study.yaml")
    parser.add_argument("--run", default="e5m2_uniform_adamw_s42")
    parser.add_argument("--steps", type=int, default=110)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("overrides", nargs="*", help="config keys on top of the run's, e.g. batch_size=4")
    args = parser.parse_args()
    run = next(r for r in load_sweep(args.sweep)[2] if r.name == args.run)
    run = replace(run, settings=run.settings | dict(data_source="text", data_path=args.data_path, max_steps=args.steps)
                  | parse_overrides(args.overrides))
    with tempfile.TemporaryDirectory() as out:
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        result = run_one(run, out)
        profile.disable()
        wall = time.perf_counter() - started
        seconds = json.loads(next(Path(out).glob("*/summary.json")).read_text())["seconds"]
    print(f"# {args.run}, {args.steps} steps: {wall:.1f} s in this process (run_one: {result['wall_s']:.1f} s)\n")
    print("| part | s |\n|---|---|\n" + "\n".join(f"| {k} | {v:.2f} |" for k, v in seconds.items()))
    for order in ("cumulative", "tottime"):
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats(order).print_stats(args.top)
        print(f"\n## by {order}\n\n```\n{text.getvalue().split('ncalls', 1)[-1]}```")


if __name__ == "__main__":
    main()

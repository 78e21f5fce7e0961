"""Replay a measured sweep with the local pool's scheduling, on a virtual clock (no GPU, no training).

    python bench/schedule.py configs/sweeps/study.yaml results/throughput_h100/2026-11-27_690b60c/one.json \
        results/throughput_h100/2026-11-27_690b60c/seconds.json [--workers 8] [--arm NAME]

Each run takes the time it took in that sweep without its compile (wall time less its setup, first steps and first
evaluation), plus the median of those three over the runs that compiled when its worker last ran another compile
group, or over the runs that did not when it ran the same one. The pool's own `next_run` hands the runs out (the
sweep's code as it is now), beside the rule it replaced (the first run of a group no worker is on). Prints, per rule,
when the last run ends, how many runs compiled and when each worker's last run ended. A model, not a measurement:
contention (a worker's runs go faster while others idle) and the start of the workers are left out.
"""
import argparse
import contextlib
import heapq
import io
import json
import statistics
import time
from pathlib import Path

from altgrad.axes import RunSpec
from altgrad.pool import WorkerPool, compile_group
from altgrad.sweep import load_sweep

OVERHEAD = ("setup", "first_steps", "first_evaluation")  # the parts of a run's time its compile adds to


def first_of_idle_group(pool: WorkerPool, i: int) -> RunSpec:
    "The rule before commit 7c5dad2: the worker's group, else the first run of a group no worker is on, else the first."
    first = pool.waiting[0]
    if pool.records[first.name].attempts: return first
    busy = {pool.compiled.get(j) for j in (*pool.running, *pool.handed)}
    mine = [r for r in pool.waiting if compile_group(r) == pool.compiled.get(i)]
    fresh = [r for r in pool.waiting if compile_group(r) not in busy]
    return (mine or fresh or [first])[0]


class Pipe:  # a worker's end of the pipe, as the pool sees it: remembers the last run sent
    def __init__(self): self.last = None
    def send(self, message): self.last = message and message["run"]["name"]


def replay(runs: list[RunSpec], bare: dict[str, float], cold: float, warm: float, workers: int, rule=None):
    "Times from the pool's start at which each worker's last run ends, and the number of runs that compiled."
    pool = WorkerPool(runs, workers, Path("."), time.time() + 3600, gpus=1)
    if rule: pool.next_run = rule.__get__(pool)
    pool.processes = {i: (None, Pipe()) for i in range(workers)}
    clock, compiles, last_end = [], 0, {}
    with contextlib.redirect_stdout(io.StringIO()):  # the pool's progress lines
        for i in range(workers):
            group_before = pool.compiled.get(i)
            pool.handle("ready", i, None, None)
            heapq.heappush(clock, (0.0, i, group_before))
        while clock:
            now, i, group_before = heapq.heappop(clock)
            name = pool.processes[i][1].last
            if name is None: continue  # told there is nothing left
            if pool.running.get(i) != name:  # it was just handed this run: it starts now, and ends later
                pool.handle("start", i, name, None)
                compiled = pool.compiled[i] != group_before
                compiles += compiled
                heapq.heappush(clock, (now + bare[name] + (cold if compiled else warm), i, pool.compiled[i]))
                continue
            pool.handle("done", i, name, dict(wall_s=0.0, val_loss=0.0))
            last_end[i] = now
            pool.processes[i][1].last = None
            pool.handle("ready", i, None, None)
            heapq.heappush(clock, (now, i, group_before))
    pool.display.close()
    return sorted(last_end.values()), compiles


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sweep_file")
    parser.add_argument("sweep_json", help="the measured sweep's sweep.json")
    parser.add_argument("seconds_json", help="each run's summary.json `seconds`, as bench/sweep_arms.sh collects them")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--arm", help="the arm's part of a seconds file of several arms")
    args = parser.parse_args()
    measured = json.loads(Path(args.sweep_json).read_text())["per_run"]
    seconds = json.loads(Path(args.seconds_json).read_text())
    if args.arm: seconds = seconds[args.arm]
    runs = [r for r in load_sweep(args.sweep_file)[2] if r.name in measured]
    overhead = {n: sum(seconds[n][k] for k in OVERHEAD) for n in measured}
    compiled = {n: seconds[n]["first_steps"] > 2.0 for n in measured}  # a cached recipe's first steps take ~0.4 s
    bare = {n: measured[n]["wall_s"] - overhead[n] for n in measured}
    cold = statistics.median(overhead[n] for n in measured if compiled[n])
    warm = statistics.median(overhead[n] for n in measured if not compiled[n])
    # the longest runs first, then by recipe and name: run_sweep's order
    runs.sort(key=lambda r: (-r.config().max_steps, str(r.overrides["recipe"]), r.name))
    print(f"{len(runs)} runs, {args.workers} workers; a run's compile overhead {cold:.1f} s, without {warm:.1f} s; "
          f"all runs' work over the workers with each group compiled once: "
          f"{(sum(bare.values()) + warm * len(runs) + (cold - warm) * len({compile_group(r) for r in runs})) / args.workers:.0f} s\n")
    print("| rule | last run ends (s) | runs that compiled | workers' last runs end (s) |\n|---|---|---|---|")
    for label, rule in (("first run of a group no worker is on (before)", first_of_idle_group),
                        ("most waiting steps per worker (altgrad.sweep now)", None)):
        ends, compiles = replay(runs, bare, cold, warm, args.workers, rule)
        print(f"| {label} | {ends[-1]:.0f} | {compiles} | {', '.join(f'{e:.0f}' for e in ends)} |")


if __name__ == "__main__":
    main()

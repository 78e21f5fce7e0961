#!/usr/bin/env bash
# Throughput arms side by side on one host: the same sweep file run at once by several independent sweeps, each on
# its own GPUs and into its own folder, then runs per GPU-hour per arm and whether the arms' common runs ended with
# the same final validation loss; per arm, where a run's time goes: its first step (compiling), its later steps, and
# the parts of summary.json's `seconds` (altgrad.progress.RunSeconds) summed over the arm's runs.
# An arm is NAME:GPUS:WORKERS[:OPTION...], e.g. one:0:8  two:1,2:16  mps:3:8:--mps  (GPUS: the host's GPU indices).
# Three options are the arm's, not the sweep's: cpus=LIST runs it on those CPU cores only (taskset -c LIST, e.g.
# cpus=0-15: its workers share out those cores as on a machine of that size), code=DIR runs the altgrad package
# and configs/ found in DIR (another version of the code: `git archive COMMIT altgrad configs | tar x -C DIR`),
# files=A,B runs those sweep files as one queue instead of SWEEP_FILE (e.g. twice the runs for twice the GPUs).
# Writes $OUT/NAME.log, $OUT/NAME.json (its sweep.json), $OUT/arms_gpu.txt and $OUT/arms.txt.
# HOST_MPS=1: one CUDA MPS control daemon for the whole host, started here before the arms and quit after them
# (every arm's workers are its clients; an arm's own `--mps` starts a daemon of its own instead).
# usage: [HOST_MPS=1] bash bench/sweep_arms.sh SWEEP_FILE STOP_AFTER LIMIT ARM [ARM ...]
set -uo pipefail
sweep=$(realpath "$1") stop=$2 limit=$3 corpus=$PWD/data/eurlex_en.txt.gz
shift 3
source bench/device_env.sh  # the wheels, the environment, cached bytecode
nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader | tee "$OUT/arms_gpu.txt"
if [ "${HOST_MPS:-0}" = 1 ]; then
  export CUDA_MPS_PIPE_DIRECTORY=/tmp/host_mps_pipe CUDA_MPS_LOG_DIRECTORY=/tmp/host_mps_log
  mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
  nvidia-cuda-mps-control -d && echo "host-wide MPS daemon started" | tee -a "$OUT/arms_gpu.txt"
  trap 'echo quit | nvidia-cuda-mps-control' EXIT
fi
names=()
for arm in "$@"; do
  IFS=: read -r name visible workers options <<< "$arm"
  names+=("$name")
  count=$(tr ',' '\n' <<< "$visible" | wc -l)
  pin=() code=$PWD sweep_options=() files=("$sweep")
  for option in ${options//:/ }; do
    case $option in
      cpus=*) pin=(taskset -c "${option#cpus=}") ;;
      code=*) code=$(realpath "${option#code=}") ;;
      files=*) IFS=, read -ra files <<< "${option#files=}"; files=($(realpath "${files[@]}")) ;;
      *) sweep_options+=("$option") ;;
    esac
  done
  ( cd "$code"  # python -m imports from the working directory first
    CUDA_VISIBLE_DEVICES=$visible PYTHONPATH=/tmp/site:$code timeout --signal=INT --kill-after=20 "$limit" \
      "${pin[@]}" python3 -m altgrad.sweep "${files[@]}" --out "/tmp/arm_$name" --workers "$workers" --gpus "$count" \
      --stop-after "$stop" "${sweep_options[@]}" data_source=text data_path="$corpus" > "$OUT/$name.log" 2>&1
    cp "/tmp/arm_$name/sweep.json" "$OUT/$name.json"
    echo "$name: code $code, ${pin[*]:-all cores}" >> "$OUT/arms_gpu.txt" ) &
done
wait
python3 - "${names[@]}" <<'PY' | tee "$OUT/arms.txt"
import json, os, sys
from pathlib import Path
def finals(folder):
    out = {}
    for summary in Path(folder).glob("*/summary.json"):
        try: out[summary.parent.name] = json.loads(summary.read_text())["final_val_loss"]
        except (OSError, ValueError, KeyError): pass
    return out
def median(values): return sorted(values)[len(values) // 2] if values else float("nan")
def step_times(folder):  # (first step ms, later logged steps' ms) over the arm's runs
    first, later = [], []
    for metrics in Path(folder).glob("*/metrics.jsonl"):
        for line in metrics.read_text().splitlines():
            row = json.loads(line)
            if "step_ms" in row: (first if row["step"] == 0 else later).append(row["step_ms"])
    return first, later
def seconds(folder, per_run):  # RunSeconds parts summed over runs, and the rest of each run's wall time in its worker
    out = {}
    for summary in Path(folder).glob("*/summary.json"):
        try: parts, wall = json.loads(summary.read_text())["seconds"], per_run[summary.parent.name]["wall_s"]
        except (OSError, ValueError, KeyError, TypeError): continue
        for part, s in (parts | {"outside the trainer": wall - sum(parts.values())}).items(): out[part] = out.get(part, 0) + s
    return out
arms = {name: finals(f"/tmp/arm_{name}") for name in sys.argv[1:]}
for name, runs in arms.items():
    try: log = json.loads((Path(os.environ["OUT"]) / f"{name}.json").read_text())
    except OSError: print(f"{name}: no sweep.json (stopped at the limit?), {len(runs)} runs finished"); continue
    walls = sorted(r["wall_s"] for r in log["per_run"].values() if r.get("wall_s"))
    print(f"{name}: {log['ran']} runs in {log['wall_s']:.0f} s on {log['gpus']} GPU(s), {log['workers']} workers, "
          f"mps {log['mps']}: {log['runs_per_gpu_hour']:.0f} runs per GPU-hour; per-run wall median "
          f"{median(walls):.0f} s; failed {len(log['failed'])}")
    busy, runs = {}, [r for r in log["per_run"].values() if r.get("wall_s")]
    for r in runs: busy[r["worker"]] = busy.get(r["worker"], 0) + r["wall_s"]
    if busy:  # the rest of the sweep's wall time a worker spent waiting: for its first run, or after its last
        print(f"  workers busy {min(busy.values()):.0f}-{max(busy.values()):.0f} s of the sweep's {log['wall_s']:.0f} s")
    if runs and all(r.get("ended_s") is not None for r in runs):  # sweep.json's ended_s (sweeps since commit 690b60c)
        print(f"  first run started {min(r['ended_s'] - r['wall_s'] for r in runs):.0f} s after the pool, "
              f"last ended {max(r['ended_s'] for r in runs):.0f} s after it")
    first, later = step_times(f"/tmp/arm_{name}")
    print(f"  first step (compile) median {median(first) / 1000:.1f} s; later steps median {median(later):.1f} ms")
    spent = seconds(f"/tmp/arm_{name}", log["per_run"])
    if spent:  # summary.json's `seconds` (RunSeconds), summed over the arm's finished runs
        total = sum(spent.values())
        print("  where the finished runs' time went (s, share): " +
              ", ".join(f"{part} {s:.0f} ({s / total:.0%})" for part, s in spent.items()))
for name in sys.argv[2:]:
    common = set(arms[name]) & set(arms[sys.argv[1]])
    same = sum(arms[name][r] == arms[sys.argv[1]][r] for r in common)
    print(f"{name} vs {sys.argv[1]}: {len(common)} runs in common, final val loss equal on {same}")
PY

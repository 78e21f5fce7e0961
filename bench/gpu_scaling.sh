#!/usr/bin/env bash
# Throughput of one sweep file on one GPU, on two GPUs, and on one GPU with CUDA MPS, side by side on one host of at
# least 4 GPUs (GPU 0; GPUs 1-2; GPU 3), each into its own folder; then each run's final validation loss against the
# same run in results/v2 (same device kind). Writes $OUT/{one,two,mps}.json (sweep.json) and $OUT/scaling.txt.
# usage: bash bench/gpu_scaling.sh SWEEP_FILE WORKERS_PER_GPU STOP_AFTER LIMIT
set -uo pipefail
sweep=$1 per_gpu=$2 stop=$3 limit=$4
python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
export PYTHONPATH=/tmp/site:$PWD ALTGRAD_DATA_DIR=/tmp/altgrad_data PYTHONUNBUFFERED=1 WANDB_MODE=disabled
nvidia-smi --query-gpu=index,name,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
run() {  # name, visible GPUs, GPUs, extra options
  CUDA_VISIBLE_DEVICES=$2 timeout --signal=INT "$limit" python3 -m altgrad.sweep "$sweep" --out "/tmp/$1" \
    --workers $(( per_gpu * $3 )) --gpus "$3" --stop-after "$stop" ${4:-} data_source=text \
    data_path=data/eurlex_en.txt.gz > "$OUT/$1.log" 2>&1
  cp "/tmp/$1/sweep.json" "$OUT/$1.json"
}
run one 0 1 & run two 1,2 2 & run mps 3 1 --mps & wait
python3 - <<'PY' | tee "$OUT/scaling.txt"
import json, os
from pathlib import Path
out = Path(os.environ["OUT"])
for name in ("one", "two", "mps"):
    try: log = json.loads((out / f"{name}.json").read_text())
    except OSError: print(name, "no sweep.json"); continue
    same = differ = 0
    for run in Path("/tmp", name).glob("*/summary.json"):
        mine = json.loads(run.read_text())["final_val_loss"]
        try: earlier = json.loads((Path("results/v2") / run.parent.name / "summary.json").read_text())["final_val_loss"]
        except OSError: continue
        same, differ = same + (mine == earlier), differ + (mine != earlier)
    print(f"{name}: {log['ran']} runs in {log['wall_s']:.0f} s on {log['gpus']} GPU(s), {log['workers']} workers, "
          f"mps {log['mps']}: {log['runs_per_gpu_hour']:.0f} runs per GPU-hour; final val loss equal to results/v2: "
          f"{same}, different: {differ}; failed {len(log['failed'])}")
PY

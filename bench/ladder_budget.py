"""The scale study's GPU budget, before any ladder run: GPU-seconds per run and per part of the study, from the
measured cost of the study model's runs and the ladder's configs (issue "scale": budget first, small rungs first).

Measured: each recipe's median worker seconds per 500-step run of the 6 x 384 model (gpt_11m's shape) in v3's
tuning sweep on one H100 (results/v3/logs/*.log, 8 workers sharing the GPU, the study's diagnostic sampling), divided
by the 8 workers: GPU-seconds per run, hence per token. Modelled: another rung costs that per token times its
training FLOP per token over gpt_11m's, 6 (N + V d) (the blocks and the tied lm_head's GEMMs; attention's scores
at context 256 left out): a larger model uses the GPU better, so this is an upper estimate. fp8_tensor is priced as
v3's fp8_tensor_h100 (the same casts; its GEMMs on the card).

The plan priced (rungs and tokens from configs/models/): the learning-rate grid on the two smallest rungs (5 rates,
2 tuning seeds), then 3 seeds per arm on the four rungs below the top and 2 on gpt_85m.

    python bench/ladder_budget.py [--out configs/sweeps/ladder_budget.md]
"""

import argparse
import re
import statistics
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from altgrad.files import atomic_write_text
from altgrad.narrative import model_parameters

ARMS = {"bf16": "bf16_uniform", "fp8_tensor": "fp8_tensor_h100_uniform", "mxfp8": "mxfp8_uniform",
        "nvfp4": "nvfp4_uniform", "E5M2": "e5m2_uniform", "E4M3": "e4m3_uniform"}  # arm: v3 run-name prefix
RUNGS = ("gpt_3m", "gpt_11m", "gpt_25m", "gpt_49m", "gpt_85m")
WORKERS, STUDY_STEPS, STUDY_TOKENS_PER_STEP = 8, 500, 32 * 256
GRID, TUNING_SEEDS = 5, 2
SEEDS = dict(gpt_3m=3, gpt_11m=3, gpt_25m=3, gpt_49m=3, gpt_85m=2)
RUN_LINE = re.compile(r"\] (\S+)_adamw_lr[0-9.e-]+_s\d+: val .*\((\d+) s, peak")


def measured_seconds() -> dict[str, float]:
    "{arm: median worker seconds of a 500-step v3 tuning run} from the sweep logs."
    seen = {arm: [] for arm in ARMS}
    for log in sorted((ROOT / "results" / "v3" / "logs").glob("*_v3_tuning.log")):
        for name, seconds in RUN_LINE.findall(log.read_text()):
            for arm, prefix in ARMS.items():
                if name == prefix:
                    seen[arm].append(int(seconds))
    missing = [arm for arm, s in seen.items() if not s]
    if missing: raise ValueError(f"no v3 tuning runs logged for {missing}")
    return {arm: statistics.median(s) for arm, s in seen.items()}


def flop_per_token(config: dict) -> float:
    n, _ = model_parameters(config)
    return 6 * (n + config["vocab_size"] * config["n_embd"])


def budget() -> str:
    worker_s = measured_seconds()
    rungs = {r: yaml.safe_load((ROOT / "configs" / "models" / f"{r}.yaml").read_text()) for r in RUNGS}
    base = flop_per_token(rungs["gpt_11m"])
    per_token = {arm: s / WORKERS / (STUDY_STEPS * STUDY_TOKENS_PER_STEP) for arm, s in worker_s.items()}
    lines = ["# The scale study's GPU budget, before its runs", "",
             "Written by `bench/ladder_budget.py` (its docstring says what is measured and what is modelled). "
             "GPU-seconds on one H100 with 8 runs sharing it.", "",
             "| arm | measured: worker s per 500-step gpt_11m-shape run | GPU-s per M tokens |", "|---|---|---|"]
    lines += [f"| {arm} | {worker_s[arm]:.0f} | {per_token[arm] * 1e6:.2f} |" for arm in ARMS]
    lines += ["", "| rung | tokens per run | FLOP per token / gpt_11m's | " + " | ".join(ARMS) + " |",
              "|---|---|---|" + "---|" * len(ARMS)]
    run_s = {}
    for r, c in rungs.items():
        tokens = c["max_steps"] * c["batch_size"] * c["block_size"]
        ratio = flop_per_token(c) / base
        run_s[r] = {arm: per_token[arm] * tokens * ratio for arm in ARMS}
        lines.append(f"| {r} | {tokens / 1e6:.1f} M | {ratio:.2f} | "
                     + " | ".join(f"{run_s[r][arm] / 60:.0f} min" for arm in ARMS) + " |")
    tuning = sum(GRID * TUNING_SEEDS * run_s[r][arm] for r in RUNGS[:2] for arm in ARMS)
    main = {r: SEEDS[r] * sum(run_s[r].values()) for r in RUNGS}
    lines += ["", "GPU time per run, modelled (upper estimate).", "",
              "| part | runs | GPU-hours |", "|---|---|---|",
              f"| tuning: {GRID} rates x {TUNING_SEEDS} seeds x {len(ARMS)} arms on gpt_3m, gpt_11m | "
              f"{2 * GRID * TUNING_SEEDS * len(ARMS)} | {tuning / 3600:.1f} |"]
    lines += [f"| {r}: {SEEDS[r]} seeds x {len(ARMS)} arms | {SEEDS[r] * len(ARMS)} | {main[r] / 3600:.1f} |"
              for r in RUNGS]
    total = tuning + sum(main.values())
    lines += [f"| all | {2 * GRID * TUNING_SEEDS * len(ARMS) + sum(SEEDS.values()) * len(ARMS)} | "
              f"{total / 3600:.1f} |", "",
              f"At 30 minutes of device time a session, the plan needs about {total / 1800:.0f} sessions' GPU time; "
              "the small rungs first, each part committed as it finishes, the top rung's runs resumable across calls."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "configs" / "sweeps" / "ladder_budget.md")
    text = budget()
    atomic_write_text(p.parse_args().out, text)
    print(text)

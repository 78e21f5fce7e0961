"""The model ladder of the scale study: writes configs/models/gpt_*.yaml and their README.md from
the rules below and the corpus (every number in them computed here, none typed).

    python data/build_debian_docs.py   # once: the Debian documentation beside EUR-Lex in data/
    python bench/ladder.py [--data-path data] [--out configs/models]

Rules (declared before any ladder run):
- Shapes: GPT-2's block (pre-norm, GELU MLP of 4 x width, 64-wide heads), GPT-2's BPE vocabulary
  (50,257) and a tied embedding, context 256; five widths and depths from about 3 M to 85 M
  parameters outside the embedding, the largest GPT-2 small's 12 x 768.
- N is the parameter count outside the token and position embeddings (Kaplan et al. 2020): at these
  sizes the embedding holds most of the parameters (the table gives both counts) and little of the
  compute.
- Tokens: D = 20 N (the compute-optimal ratio of Hoffmann et al. 2022, on this N), but at most 4
  passes over the corpus's training split (Muennighoff et al. 2023: repeated data up to about 4
  epochs is worth nearly as much as new). Where the corpus is too small for 20 N, a rung trains on
  the 4 passes: the ladder then varies N at a fixed D.
- Batch: 32 x 256 tokens on every rung (the study's); steps = D / 8,192, rounded down to a multiple
  of 50 (the evaluation interval; down, so that no rung passes the cap); warm-up 10% of the steps,
  cosine to a tenth of the peak.
- Peak learning rate: 2e-3 x 384 / width: BF16's best on the study's 6 x 384 model
  (configs/sweeps/v3_tuning.yaml) moved as 1 / width, the rule Adam's width scaling suggests (Yang
  et al. 2022, muP); the two smallest rungs are tuned on a small grid to check it before the larger
  ones rely on it."""

import argparse
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from altgrad.files import atomic_write_text
from altgrad.narrative import corpus_tokens, model_parameters

SHAPES = [(4, 256), (6, 384), (8, 512), (10, 640), (12, 768)]  # (layers, width)
CONTEXT, BATCH, VOCAB = 256, 32, 50257
TOKENS_PER_PARAMETER, MAX_PASSES = 20, 4
TUNED_LR, TUNED_WIDTH = 2e-3, 384  # BF16's best on the 6 x 384 rung, v3 tuning
EVAL_EVERY = 50


def rung(layers: int, width: int, train_tokens: int, data_path: str) -> dict:
    "One rung's config and the numbers its table row shows."
    shape = dict(
        n_layer=layers, n_head=width // 64, n_embd=width, block_size=CONTEXT, vocab_size=VOCAB
    )
    n, total = model_parameters(shape)
    wanted = TOKENS_PER_PARAMETER * n
    tokens = min(wanted, MAX_PASSES * train_tokens)
    steps = EVAL_EVERY * math.floor(tokens / (BATCH * CONTEXT) / EVAL_EVERY)
    lr = TUNED_LR * TUNED_WIDTH / width
    config = dict(
        shape,
        batch_size=BATCH,
        learning_rate=float(f"{lr:.3g}"),
        min_lr=float(f"{lr / 10:.3g}"),
        warmup_steps=steps // 10,
        max_steps=steps,
        eval_interval=EVAL_EVERY,
        eval_iters=64,
        log_interval=10,
        checkpoint_interval=max(EVAL_EVERY, steps // 10),
        diagnostic_interval=50,
        full_diagnostic_every=2,
        seed=42,
        recipe="bf16",
        data_source="text",
        data_path=data_path,
    )
    trained = steps * BATCH * CONTEXT
    return dict(
        name=f"gpt_{round(n / 1e6)}m",
        config=config,
        n=n,
        total=total,
        wanted=wanted,
        tokens=trained,
        capped=wanted > MAX_PASSES * train_tokens,
        passes=trained / train_tokens,
        flop=6 * n * trained,
    )


def yaml_text(row: dict) -> str:
    lines = [
        f"# Ladder rung {row['name']}: {row['n'] / 1e6:.1f} M parameters outside the embedding "
        f"({row['total'] / 1e6:.1f} M with it).",
        "# Written by bench/ladder.py from its rules; do not edit.",
    ]
    for key, value in row["config"].items():
        lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


def readme(rows: list[dict], train_tokens: int, data_path: str) -> str:
    lines = [
        "# The model ladder",
        "",
        "Written by `bench/ladder.py` (its docstring states the rules) from the corpus "
        f"`{data_path}`, whose training split holds {train_tokens / 1e6:.2f} M GPT-2 tokens. "
        "Each rung is a config: `altgrad-train models/gpt_11m recipe=mxfp8` trains it; a sweep "
        "names it as its `base`.",
        "",
        "| rung | layers × width | N (outside the embedding) | with it | 20 N tokens "
        "| tokens trained | passes "
        "| steps | peak lr | 6 N D (FLOP) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        c = r["config"]
        lines.append(
            f"| `{r['name']}` | {c['n_layer']} × {c['n_embd']} | {r['n'] / 1e6:.1f} M | "
            f"{r['total'] / 1e6:.1f} M | {r['wanted'] / 1e6:.0f} M | {r['tokens'] / 1e6:.1f} M | "
            f"{r['passes']:.1f} | {c['max_steps']} | {c['learning_rate']:g} | {r['flop']:.2e} |"
        )
    capped = [r["name"] for r in rows if r["capped"]]
    if capped:
        lines += [
            "",
            f"On this corpus {', '.join(capped)} cannot have 20 N tokens within {MAX_PASSES} "
            f"passes: they train on {MAX_PASSES} passes, so across them the ladder varies N at a "
            "fixed D. A larger corpus "
            "(`data_path`, then rerun this script) gives every rung its 20 N.",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # every corpus in data/: EUR-Lex and the Debian documentation
    parser.add_argument("--data-path", default="data")
    parser.add_argument("--out", type=Path, default=ROOT / "configs" / "models")
    args = parser.parse_args()
    train_tokens = corpus_tokens(dict(data_source="text", data_path=args.data_path))
    rows = [rung(layers, width, train_tokens, args.data_path) for layers, width in SHAPES]
    args.out.mkdir(parents=True, exist_ok=True)
    for row in rows:
        atomic_write_text(args.out / f"{row['name']}.yaml", yaml_text(row))
    atomic_write_text(args.out / "README.md", readme(rows, train_tokens, args.data_path))
    print(readme(rows, train_tokens, args.data_path))

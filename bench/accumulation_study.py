"""reports/accumulation.md from the runs of configs/sweeps/accumulation.yaml and accumulation_blockwise.yaml: what
leaving out the H100's FP8 accumulator costs in training, tested as configs/sweeps/accumulation.md declared before the
runs (the margin is read from there). Every number is computed from the runs' summary.json files.

    python bench/accumulation_study.py results/accumulation --out reports/accumulation.md
"""
import argparse, json, math, re, statistics, sys
from collections import Counter
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from altgrad.runs import ExperimentDataLoader
from altgrad.stats import compare, compare_unpaired, holm
from altgrad.files import atomic_write_text

DECLARED = ROOT / "configs" / "sweeps" / "accumulation.md"
ARMS = ("bf16", "fp8_current", "fp8_current_h100", "fp8_current_hardware", "fp8_current_fast")  # the sweep file's formats
BLOCKWISE = ("fp8_blockwise", "fp8_blockwise_h100")  # accumulation_blockwise.yaml's
# the blockwise family, declared in accumulation.md: (a, b) for a − b
BLOCKWISE_FAMILY = (("fp8_blockwise_h100", "fp8_blockwise"), ("fp8_blockwise_h100", "bf16"),
                    ("fp8_blockwise", "bf16"), ("fp8_blockwise_h100", "fp8_current_h100"))
ALPHA = 0.05


def declared_margin() -> float:
    "The equivalence margin accumulation.md declared, in nats."
    found = re.search(r"Equivalence margin: \*\*±([0-9.]+) nats\*\*", DECLARED.read_text())
    if not found: raise ValueError(f"{DECLARED} declares no 'Equivalence margin: **±X nats**'")
    return float(found.group(1))


def arm_of(run) -> str:
    recipe = run.config.get("recipe")
    return recipe.get("name") if isinstance(recipe, dict) else str(recipe)


def losses(runs_dir: Path) -> dict[str, dict[int, float]]:
    "{arm: {seed: final validation loss}} of the finished runs (NaN for a run that failed)."
    out = {arm: {} for arm in ARMS + BLOCKWISE}
    for run in ExperimentDataLoader(runs_dir).load():
        if arm_of(run) in out: out[arm_of(run)][run.seed] = run.final_val_loss
    return out


def training_losses(run_dir: Path) -> list[float]:
    "The logged training losses of a run, in step order."
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    return [row["loss"] for row in sorted(rows, key=lambda row: row["step"]) if "loss" in row]


def how_they_ran(runs_dir: Path) -> list[str]:
    """The cards the runs ran on, and whether the H100-accumulation arm and the card's own GEMM trained
    identically: on an H100, `altgrad.gemm`'s 'auto' backend hands fp8_current_h100's GEMMs to
    `torch._scaled_mm` (the card) where it computes them, so the two arms then differ only in who casts."""
    runs = [run for run in ExperimentDataLoader(runs_dir).load() if arm_of(run) in ARMS]
    cards = Counter(run.summary.get("device_name") or "not recorded" for run in runs)
    lines = ["## How the arms ran", "",
             "Cards: " + ", ".join(f"{name} ({n} runs)" for name, n in cards.most_common()) + ".", ""]
    by_seed = {}
    for run in runs:
        by_seed.setdefault(run.seed, {})[arm_of(run)] = run.path
    pairs = [(s, arms) for s, arms in sorted(by_seed.items())
             if {"fp8_current_h100", "fp8_current_hardware"} <= set(arms)]
    same = [s for s, arms in pairs if training_losses(arms["fp8_current_h100"])
            == training_losses(arms["fp8_current_hardware"])]
    lines.append(
        f"`fp8_current_h100` (AltGrad's casts, each GEMM accumulated as the H100 does) and `fp8_current_hardware` "
        f"(torch's own FP8 casts and GEMM) logged the same training loss at every logged step on {len(same)} of "
        f"{len(pairs)} seeds. On an H100 AltGrad hands a GEMM the card computes to `torch._scaled_mm` itself "
        "(`altgrad.gemm`'s default backend), so these two arms differ only in who casts to FP8: the equality says "
        "AltGrad's casts are torch's, step for step. That the accumulator model computes what the card computes is "
        "checked on recorded GPU vectors (`tests/data/tensor_core_h100.npz`), not by these runs; on a CPU the "
        "`_h100` recipes run that model.")
    return lines + [""]


def verdict(p_equivalent: float, p_different: float) -> str:
    if p_equivalent < ALPHA and p_different < ALPHA: return "tied (a difference inside the margin)"
    if p_equivalent < ALPHA: return "tied"
    if p_different < ALPHA: return "different"
    return "not resolved"


def arm_rows(arms, by_arm, margin) -> list[str]:
    "The per-arm table's rows: runs, failures, mean final validation loss with its 95% interval, SD."
    lines = []
    for arm in arms:
        values = [v for v in by_arm[arm].values() if not math.isnan(v)]
        failed = len(by_arm[arm]) - len(values)
        if len(values) >= 2:
            spread = compare(values, margin)  # the values' own mean, standard error and t-interval
            low, high = spread.interval(0.95)
            lines.append(f"| {arm} | {len(by_arm[arm])} | {failed} | {spread.mean:.4f} | [{low:.4f}, {high:.4f}] | "
                         f"{statistics.stdev(values):.4f} |")
        else:
            lines.append(f"| {arm} | {len(by_arm[arm])} | {failed} | — | — | — |")
    return lines


def differences(pairs, by_arm, margin):
    """Each pair's difference (a − b) over the seeds both ran, paired where pairing gives the smaller standard error;
    the family's Holm-adjusted p-values of a tie and of a difference."""
    rows, p_eq, p_diff = [], {}, {}
    for a, b in pairs:
        seeds = sorted(s for s in set(by_arm[a]) & set(by_arm[b])
                       if not (math.isnan(by_arm[a][s]) or math.isnan(by_arm[b][s])))
        if len(seeds) < 3: continue
        xa, xb = [by_arm[a][s] for s in seeds], [by_arm[b][s] for s in seeds]
        correlation = statistics.correlation(xa, xb) if min(statistics.stdev(xa), statistics.stdev(xb)) > 0 else 1.0
        paired = compare([x - y for x, y in zip(xa, xb)], margin)
        unpaired = compare_unpaired(xa, xb, margin)
        chosen = paired if paired.se < unpaired.se else unpaired  # pair only where pairing reduces the variance
        name = f"{a} − {b}"
        p_eq[name], p_diff[name] = chosen.p_equivalent, chosen.p_different
        rows.append((name, len(seeds), correlation, paired, unpaired, chosen is paired, chosen))
    return rows, holm(p_eq), holm(p_diff)


def difference_rows(rows, eq, diff) -> list[str]:
    "The differences table's rows."
    lines = []
    for name, n, correlation, paired, unpaired, used_paired, chosen in rows:
        lp, hp = paired.interval(0.90)
        lu, hu = unpaired.interval(0.90)
        lines.append(f"| {name} | {n} | {correlation:+.2f} | {paired.mean:+.4f} [{lp:+.4f}, {hp:+.4f}] | "
                     f"{unpaired.mean:+.4f} [{lu:+.4f}, {hu:+.4f}] | {'paired' if used_paired else 'unpaired'} | "
                     f"{eq[name]:.3g} | {diff[name]:.3g} | {verdict(eq[name], diff[name])} |")
    return lines


def blockwise(runs_dir: Path, by_arm, margin) -> list[str]:
    "The blockwise section: its arms and its own family of four differences (accumulation.md, 'Blockwise')."
    lines = ["", "## Blockwise FP8: promotion every 128 (DeepGEMM, on the card) against FP32 sums", ""]
    if not any(by_arm[arm] for arm in BLOCKWISE):
        return lines + ["Not run yet (`configs/sweeps/accumulation_blockwise.yaml`)."]
    rows, eq, diff = differences(BLOCKWISE_FAMILY, by_arm, margin)
    cards = Counter(run.summary.get("device_name") or "not recorded" for run in ExperimentDataLoader(runs_dir).load()
                    if arm_of(run) in BLOCKWISE)
    lines += ["Cards: " + ", ".join(f"{name} ({n} runs)" for name, n in cards.most_common()) + " (on an H100, "
              "`fp8_blockwise_h100` takes each block's sum from the card's FP8 GEMM; elsewhere from the model).", "",
              "| arm | runs | failed | mean | 95% interval | SD |", "|---|---|---|---|---|---|"]
    lines += arm_rows(BLOCKWISE, by_arm, margin)
    lines += ["", f"Differences (margin ±{margin} nats; Holm over these {len(rows)} comparisons):", "",
              "| difference | seeds | correlation | paired: mean [90%] | unpaired: mean [90%] | used | "
              "p tie (Holm) | p different (Holm) | verdict |", "|---|---|---|---|---|---|---|---|---|"]
    return lines + difference_rows(rows, eq, diff)


def report(runs_dir: Path) -> str:
    margin, by_arm = declared_margin(), losses(runs_dir)
    lines = ["# What the missing accumulator costs in training", "",
             f"Runs: `{runs_dir.relative_to(ROOT) if runs_dir.is_relative_to(ROOT) else runs_dir}` "
             "(configs/sweeps/accumulation.yaml, accumulation_blockwise.yaml); the question, outcome, margin and tests were declared before the "
             "runs in configs/sweeps/accumulation.md. Written by `bench/accumulation_study.py`.", "",
             "## Final validation loss per arm (step 500)", "",
             "| arm | runs | failed | mean | 95% interval | SD |", "|---|---|---|---|---|---|"]
    lines += arm_rows(ARMS, by_arm, margin)
    rows, eq, diff = differences(combinations(ARMS[::-1], 2), by_arm, margin)
    verdicts = Counter(verdict(eq[name], diff[name]) for name in eq)
    largest = max(rows, key=lambda row: abs(row[-1].mean))
    answer = ["## Answer", "",
              f"Of the {len(rows)} differences, " + ", ".join(f"{n} {v}" for v, n in verdicts.most_common())
              + f" (margin ±{margin} nats, Holm). The largest mean difference is {largest[0]}: "
              f"{largest[-1].mean:+.4f} nats. At this model, batch and learning rate the FP8 accumulator "
              + ("does not move the final loss by as much as the margin." if verdicts.get("tied") == len(rows)
                 else "moves the final loss in the pairs not marked tied below."), ""]
    lines[lines.index("## Final validation loss per arm (step 500)"):0] = answer + how_they_ran(runs_dir)
    lines += ["", f"## Differences (margin ±{margin} nats, declared; Holm over the {len(rows)} comparisons)", "",
              "A pair is *tied* when TOST's Holm-adjusted p is below 0.05 (its 90% interval inside the margin), "
              "*different* when the two-sided test's Holm-adjusted p is below 0.05, else *not resolved*. Pairing by "
              "seed is used where it gives the smaller standard error (the correlation column says why).", "",
              "| difference | seeds | correlation | paired: mean [90%] | unpaired: mean [90%] | used | "
              "p tie (Holm) | p different (Holm) | verdict |", "|---|---|---|---|---|---|---|---|---|"]
    lines += difference_rows(rows, eq, diff)
    lines += blockwise(runs_dir, by_arm, margin)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("runs_dir", type=Path)
    p.add_argument("--out", type=Path, default=ROOT / "reports" / "accumulation.md")
    args = p.parse_args()
    text = report(args.runs_dir.resolve())
    atomic_write_text(args.out, text)
    print(text)

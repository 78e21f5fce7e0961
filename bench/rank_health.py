"""Rank health's eigenproblems on the GPU against the host: the study model's 25 Gram matrices (384 x 384, float64).

Run from the repository root on a CUDA machine:
    python bench/rank_health.py [--threads 1 2 4] [--out DIR]

Builds the 6L/384 GPT of the study (random weights: the solver's time does not depend on the values), forms the
Gram matrix of each of its 25 weight matrices on the GPU as `altgrad.diagnostics.rank_health_of` does, and times
`torch.linalg.eigvalsh` on the batch on the GPU (cuSOLVER) and, copy included, on the host (LAPACK) with the given
numbers of CPU threads (a sweep worker gets the host's cores / workers), plus `rank_health_of` itself both ways
(a sweep worker that shares its GPU solves on the host: `solve_eigenproblems_on_host`). Also the
largest difference between the two solvers' eigenvalues, relative to each matrix's largest. Writes rank_health.md.
"""
import argparse
from pathlib import Path

import torch
from timing import milliseconds

from altgrad.diagnostics import _gram, rank_health_of, solve_eigenproblems_on_host
from altgrad.model import GPT, GPTConfig


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args()
    model = GPT(GPTConfig(n_layer=6, n_head=6, n_embd=384, block_size=256)).cuda()
    weights = {n: m.weight for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    grams = torch.stack([_gram(w.detach().double()) for w in weights.values()])
    rows = [("GPU (cuSOLVER)", milliseconds(lambda: torch.linalg.eigvalsh(grams))),
            ("rank_health_of, solved on the GPU (a run alone)", milliseconds(lambda: rank_health_of(weights)))]
    for threads in args.threads:
        torch.set_num_threads(threads)
        rows.append((f"host (LAPACK), {threads} thread(s), copy included",
                     milliseconds(lambda: torch.linalg.eigvalsh(grams.cpu()))))
        solve_eigenproblems_on_host()
        rows.append((f"rank_health_of, {threads} thread(s): Gram matrices on the GPU, solved on the host (sweep workers)",
                     milliseconds(lambda: rank_health_of(weights))))
        solve_eigenproblems_on_host(False)
    gpu, host = torch.linalg.eigvalsh(grams).cpu(), torch.linalg.eigvalsh(grams.cpu())
    difference = ((gpu - host).abs() / host.abs().amax(-1, keepdim=True)).max().item()
    text = (f"# Rank health's eigenproblems — {torch.cuda.get_device_name()}\n\n`python bench/rank_health.py` (torch "
            f"{torch.__version__}): {len(weights)} Gram matrices {tuple(grams.shape[1:])}, float64, in one batch.\n\n"
            "| where | ms |\n|---|---|\n" + "\n".join(f"| {name} | {ms:.1f} |" for name, ms in rows) +
            f"\n\nLargest difference between the GPU's and the host's eigenvalues, relative to the matrix's largest: "
            f"{difference:.2g}.\n")
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "rank_health.md").write_text(text)


if __name__ == "__main__":
    main()

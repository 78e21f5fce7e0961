"""Peak memory of a CPU run against `altgrad.build.estimate_cpu_memory`, the estimate a CPU run checks first.

    python bench/cpu_memory.py [--batch-sizes 1 4 8 16] [--out DIR]

Each point in a fresh process: e7m0_uniform's 6L/384 model, quantized (E7M0) and not (recipe bf16), trained two
steps through the runner on the packaged corpus (step 0 is a full diagnostic sample: the eager step with the
counters and the reference passes) with its final evaluation. Reports the process's peak resident set size and the
estimate, in MiB; nbs/15_build tests the estimate against these figures.
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from report import publish


def one_point(quantized: bool, batch_size: int):
    "Train the point in this process; print its peak resident set size in MiB."
    from altgrad.config import load_config
    from altgrad.runner import FormatExperimentRunner
    config = load_config("e7m0_uniform", recipe="E7M0" if quantized else "bf16", device="cpu", batch_size=batch_size,
                         max_steps=2, checkpoint_dir=tempfile.mkdtemp(), save_checkpoints=False)
    FormatExperimentRunner(config).run(progress=False)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)  # Linux: KiB


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-sizes", type=int, nargs="*", default=[1, 4, 8, 16])
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--point", nargs=2, help=argparse.SUPPRESS)  # QUANTIZED BATCH: one point, in a child process
    args = parser.parse_args()
    if args.point: return one_point(args.point[0] == "1", int(args.point[1]))
    from altgrad.config import load_config
    from altgrad.build import estimate_cpu_memory
    rows = []
    for quantized in (True, False):
        for b in args.batch_sizes:
            done = subprocess.run([sys.executable, __file__, "--point", str(int(quantized)), str(b)], check=True,
                                  capture_output=True, text=True)
            peak = int(done.stdout.split()[-1])
            estimate = estimate_cpu_memory(load_config("e7m0_uniform", recipe="E7M0" if quantized else "bf16"), b) // 2 ** 20
            rows.append(dict(quantized=quantized, batch_size=b, peak_mib=peak, estimate_mib=estimate))
            print(json.dumps(rows[-1]), flush=True)
    text = ("| recipe | batch | peak RSS (MiB) | estimate (MiB) | estimate / peak |\n|---|---|---|---|---|\n" +
            "".join(f"| {'E7M0' if r['quantized'] else 'bf16'} | {r['batch_size']} | {r['peak_mib']} | "
                    f"{r['estimate_mib']} | {r['estimate_mib'] / r['peak_mib']:.2f} |\n" for r in rows))
    publish(text, args.out, "cpu_memory", rows)


if __name__ == "__main__":
    main()

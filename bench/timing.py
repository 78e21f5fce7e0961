"""What the bench scripts share: the wall time of a GPU function, synchronized (run them as `python bench/NAME.py`,
which puts this folder on the import path)."""
import time

import torch


def milliseconds(fn, repeats: int = 5) -> float:
    "Mean milliseconds of `fn()` over `repeats` calls after one warm-up call, the GPU synchronized at both ends."
    fn()
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeats): fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - start) / repeats * 1e3

"""Blockwise FP8 (DeepSeek-V3) with DeepGEMM's accumulation: each 128-block's sum on the card against the model.

- `gemms`: every GEMM shape of the study model's linear layers (6L/384, 8192 tokens: forward, dgrad, wgrad) with
  fp8_blockwise's operands (E4M3, 1 x 128 blocks along K for the row operand, 128 x 128 tiles for the weight,
  unrounded FP32 scales): `promoted_blocks_mm` with each block's sum from `torch._scaled_mm` against the same with
  the block sums from the model, bit for bit on every output; the seconds of each.
- `step0`: one forward and backward pass of the study model with fp8_blockwise_h100 (batch 4 x 256, random tokens,
  bf16 autocast, eager), blocks on the card and in the model: every gradient compared bit for bit.
- `steps`: the median step time of the study run (compiled, batch 32 x 256) with fp8_blockwise (FP32 sums) and
  fp8_blockwise_h100 (card blocks), beside BF16, and 20 training losses of each.

    python bench/blockwise_card_check.py --data-path data/eurlex_en.txt.gz --out $OUT
"""

import argparse, json, os, statistics, sys, tempfile, time
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from report import publish
from altgrad.build import prepare_data
from altgrad.config import load_config
from altgrad.gemm import ACCUMULATIONS, gemm_backend, promoted_blocks_mm
from altgrad.model import GPT, GPTConfig
from altgrad.quantize import quantize
from altgrad.recipes import quantize_model
from altgrad.train import Trainer

BLOCK = 128


def bits(x):
    return x.view(torch.int32)


def blockwise(shape, along_k_rows: bool, seed: int):
    """Dequantized E4M3 values and their per-element `into` factors: 1 x 128 blocks along K for a (M, K) operand,
    128 x 128 tiles for a (K, N) one; each block scaled so its largest magnitude lands on 448."""
    g = torch.Generator(device="cuda").manual_seed(seed)
    x = torch.randn(shape, generator=g, device="cuda") * torch.rand(shape[0], 1, generator=g, device="cuda") * 3
    if along_k_rows:  # (M, K): a block is 128 consecutive elements of a row
        amax = x.unflatten(1, (-1, BLOCK)).abs().amax(-1, keepdim=True)
        into = (448 / amax).expand(-1, -1, BLOCK).flatten(1)
    else:  # (K, N): 128 x 128 tiles
        K, N = shape
        amax = x.reshape(K // BLOCK, BLOCK, N // BLOCK, BLOCK).abs().amax((1, 3), keepdim=True)
        into = (448 / amax).expand(-1, BLOCK, -1, BLOCK).reshape(K, N)
    return quantize(x * into, "E4M3") / into, into


def gemms() -> list[dict]:
    out, seed, d, tokens = [], 0, 384, 8192
    acc = ACCUMULATIONS["h100_split"]
    for layer, (fan_in, fan_out) in dict(c_attn=(d, 3 * d), attn_proj=(d, d), c_fc=(d, 4 * d),
                                         mlp_proj=(4 * d, d)).items():
        for gemm, (M, K, N) in dict(forward=(tokens, fan_in, fan_out), dgrad=(tokens, fan_out, fan_in),
                                    wgrad=(fan_out, tokens, fan_in)).items():
            if N % BLOCK: continue
            seed += 2
            (a, into_a), (b, into_b) = blockwise((M, K), True, seed), blockwise((K, N), False, seed + 1)
            timed = {}
            for backend in ("card", "model"):
                torch.cuda.synchronize()
                started = time.perf_counter()
                timed[backend] = promoted_blocks_mm(a, b, into_a, into_b, "E4M3", "E4M3", acc, backend=backend)
                torch.cuda.synchronize()
                timed[backend + "_s"] = time.perf_counter() - started
            fp32 = ((timed["card"] - a @ b).abs() / (a.abs() @ b.abs()).clamp_min(1e-30)).max().item()
            r = dict(layer=layer, gemm=gemm, M=M, K=K, N=N, outputs=timed["card"].numel(),
                     identical=int((bits(timed["card"]) == bits(timed["model"])).sum()),
                     seconds_card=timed["card_s"], seconds_model=timed["model_s"], max_rel_to_fp32_sum=fp32)
            out.append(r)
            print(json.dumps(r), flush=True)
    return out


def gradients(backend: str, tokens) -> dict:
    torch.manual_seed(0)
    model = GPT(GPTConfig()).cuda()  # the study's 6L/384
    quantize_model(model, "fp8_blockwise_h100")
    with gemm_backend(backend), torch.autocast("cuda", torch.bfloat16):
        _, loss = model(tokens[:, :-1], tokens[:, 1:])
        loss.backward()
    return {"loss": loss.detach().clone()} | {n: p.grad.detach().clone() for n, p in model.named_parameters()}


def step0() -> dict:
    tokens = torch.randint(0, 50257, (4, 257), generator=torch.Generator().manual_seed(1)).cuda()
    seconds, grads = {}, {}
    for backend in ("card", "model"):
        started = time.perf_counter()
        grads[backend] = gradients(backend, tokens)
        seconds[backend] = time.perf_counter() - started
    names = [n for n in grads["card"] if n != "loss"]
    same = {n: int((bits(grads["card"][n].float()) == bits(grads["model"][n].float())).sum()) for n in names}
    result = dict(parameters=len(names), values=sum(grads["card"][n].numel() for n in names),
                  identical_values=sum(same.values()),
                  identical_parameters=sum(same[n] == grads["card"][n].numel() for n in names),
                  differing=[n for n in names if same[n] != grads["card"][n].numel()][:20],
                  loss_card=grads["card"]["loss"].item(), loss_model=grads["model"]["loss"].item(),
                  seconds_card=seconds["card"], seconds_model=seconds["model"])
    print(json.dumps(result), flush=True)
    return result


def steps(data_path: str, count: int = 60) -> dict:
    config_file = str(Path(__file__).resolve().parents[1] / "configs" / "e5m2_short.yaml")
    base = dict(data_source="text", data_path=data_path, device="cuda", max_steps=500, diagnostic_interval=10**9,
                eval_interval=10**9, checkpoint_dir=tempfile.mkdtemp(), save_checkpoints=False)
    data = prepare_data(load_config(config_file, **base))
    out = {}
    for recipe in ("bf16", "fp8_blockwise", "fp8_blockwise_h100"):
        torch._dynamo.reset()
        trainer = Trainer(load_config(config_file, **base, recipe=recipe), data)
        metrics = [trainer.train_step() for _ in range(count)]
        out[recipe] = dict(losses=[m["loss"] for m in metrics[:20]],
                           ms_per_step=statistics.median(m["step_ms"] for m in metrics[10:]))
        print(recipe, json.dumps(out[recipe]), flush=True)
        del trainer
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path)
    p.add_argument("--data-path", default="data/eurlex_en.txt.gz")
    p.add_argument("--parts", nargs="+", default=["gemms", "step0", "steps"])
    args = p.parse_args()
    rows = gemms() if "gemms" in args.parts else []
    s0 = step0() if "step0" in args.parts else None
    timed = steps(args.data_path) if "steps" in args.parts else None
    lines = [f"# Blockwise FP8 with DeepGEMM's accumulation: card blocks against the model on "
             f"{torch.cuda.get_device_name()}", "", f"torch {torch.__version__}; written by "
             "`bench/blockwise_card_check.py`.", ""]
    if rows:
        lines += ["## The study model's GEMM shapes (8192 tokens), fp8_blockwise operands, float32 out", "",
                  "| layer | GEMM | M x K x N | identical | outputs | card s | model s | max error / sum abs |",
                  "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['layer']} | {r['gemm']} | {r['M']}x{r['K']}x{r['N']} | {r['identical']} | {r['outputs']} | "
                  f"{r['seconds_card']:.3f} | {r['seconds_model']:.2f} | {r['max_rel_to_fp32_sum']:.2e} |"
                  for r in rows]
        lines += ["", f"Identical: {sum(r['identical'] for r in rows)} of {sum(r['outputs'] for r in rows)} "
                  "outputs. The last column: the largest |promoted − FP32 sum| / Σ|ab| (the cost of the "
                  "accumulator inside each block).", ""]
    if s0:
        lines += ["## One step's gradients (batch 4 x 256, eager): card blocks against model blocks", "",
                  f"{s0['identical_values']} of {s0['values']} gradient values identical "
                  f"({s0['identical_parameters']} of {s0['parameters']} parameters); loss {s0['loss_card']} "
                  f"(card) and {s0['loss_model']} (model); {s0['seconds_card']:.1f} s and "
                  f"{s0['seconds_model']:.1f} s.", ""]
    if timed:
        lines += ["## Step time, the study run compiled (batch 32 x 256), median of steps 10-59", "",
                  "| recipe | ms per step | vs BF16 | first losses |", "|---|---|---|---|"]
        lines += [f"| {k} | {v['ms_per_step']:.1f} | {v['ms_per_step'] / timed['bf16']['ms_per_step']:.2f}x | "
                  f"{', '.join(f'{x:.4f}' for x in v['losses'][:3])} |" for k, v in timed.items()]
    publish("\n".join(lines) + "\n", args.out, "blockwise_card_check",
            dict(gemms=rows, step0=s0, steps=timed))

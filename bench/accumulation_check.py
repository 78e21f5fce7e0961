"""A recipe's GEMMs with the H100's accumulation: the card (`torch._scaled_mm`) against the model, on a GPU.

- `shapes`: every GEMM shape a linear layer of the study model (6L/384) and of a 12 x 1024 model runs for 8192
  tokens (forward, dgrad, wgrad), with the operand formats fp8_current_h100 gives them (E4M3 x E4M3 forward,
  E5M2 x E4M3 in both backward GEMMs) and both accumulation modes, bfloat16 out: the cuBLASLt kernels, and the
  first 256 rows of the card's output against the model's (rows are independent), bit for bit; where they differ
  and cuBLASLt split K, the split count that matches.
- `step0`: one forward and backward pass of the study model (batch 32 x 256, random tokens, bf16 autocast) with
  fp8_current_h100 emulated, its GEMMs on the card and in the model, and with `execution: hardware` (torch's FP8
  casts and `torch._scaled_mm`): every gradient compared bit for bit; and how far fp8_current (FP32 accumulation)
  and BF16 are from it (relative L2 per parameter, median and range); compiled, emulated against hardware and
  each against a second compiled run of itself: the parameters whose gradients differ.
- `losses`: 100 training steps of the study run (e5m2_short.yaml's model, schedule and data; compiled) with
  fp8_current_h100 emulated and with execution hardware: the training losses compared, and each one's step time
  beside BF16's and fp8_current's.

    python bench/accumulation_check.py --data-path data/eurlex_en.txt.gz --out $OUT
"""

import argparse, json, os, statistics, sys, tempfile, time, warnings
from pathlib import Path

import torch

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from report import publish
from altgrad.config import load_config
from altgrad.gemm import ACCUMULATIONS, accumulated_mm, gemm_backend, tensor_core_mm, TORCH_FP8
from altgrad.model import GPT, GPTConfig
from altgrad.recipes import quantize_model
from altgrad.build import CompiledGPT, prepare_data
from altgrad.train import Trainer

warnings.filterwarnings("ignore", message="accumulation .* runs the model")


def kernels_of(run):
    "run()'s output and the CUDA kernels it launched."
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA]) as prof:
        out = run()
        torch.cuda.synchronize()
    names = {e.name for e in prof.events() if e.device_type == torch.autograd.DeviceType.CUDA}
    return out, sorted(n[:90] for n in names)


def operand(shape, fmt, seed):
    "Values of a quantized operand: Gaussian codes of `fmt` over a power-of-two scale, and the scale."
    g = torch.Generator(device="cuda").manual_seed(seed)
    codes = (torch.randn(shape, generator=g, device="cuda") * 40).to(TORCH_FP8[fmt])
    scale = torch.tensor(2.0 ** (seed % 7 - 3), device="cuda")
    return codes.float() / scale, scale


def bits(x):
    return x.view(torch.int16 if x.dtype == torch.bfloat16 else torch.int32)


def shapes(rows: int = 256) -> list[dict]:
    out, seed = [], 0
    for model, d in (("6L/384", 384), ("12L/1024", 1024)):
        tokens = 8192
        for layer, (fan_in, fan_out) in dict(c_attn=(d, 3 * d), attn_proj=(d, d), c_fc=(d, 4 * d),
                                             mlp_proj=(4 * d, d)).items():
            gemms = dict(forward=((tokens, fan_in, fan_out), "E4M3", "E4M3"),
                         dgrad=((tokens, fan_out, fan_in), "E5M2", "E4M3"),
                         wgrad=((fan_out, tokens, fan_in), "E5M2", "E4M3"))
            for gemm, ((M, K, N), fa, fb) in gemms.items():
                seed += 2
                (a, sa), (b, sb) = operand((M, K), fa, seed), operand((K, N), fb, seed + 1)
                for mode in ("h100_fast", "h100_split"):
                    acc = ACCUMULATIONS[mode]
                    card, names = kernels_of(lambda: accumulated_mm(a, b, sa, sb, fa, fb, acc, torch.bfloat16,
                                                                    backend="card"))
                    ours = accumulated_mm(a[:rows], b, sa, sb, fa, fb, acc, torch.bfloat16, backend="model")
                    same = int((bits(ours) == bits(card[:rows])).sum())
                    r = dict(model=model, layer=layer, gemm=gemm, M=M, K=K, N=N, mode=mode, kernels=names,
                             outputs=ours.numel(), identical=same, k_splits=1)
                    if same != ours.numel() and any("splitK" in n for n in names):
                        ca, cb = (a[:rows] * sa).to(TORCH_FP8[fa]), (b * sb).to(TORCH_FP8[fb])
                        for k in range(2, 17):
                            alt = tensor_core_mm(ca, cb, 1 / sa, 1 / sb, torch.bfloat16, mode == "h100_fast",
                                                 k_splits=k)
                            hit = int((bits(alt) == bits(card[:rows])).sum())
                            if hit > r["identical"]: r.update(identical=hit, k_splits=k)
                    out.append(r)
                    print(json.dumps({k: v for k, v in r.items() if k != "kernels"}), flush=True)
    return out


HARDWARE = {"base": "fp8_current_h100", "execution": "hardware"}


def gradients(recipe, backend: str, tokens, seed: int = 0, compiled: bool = False) -> dict:
    "Every parameter's gradient after one forward and backward pass of the study model (eager or compiled)."
    torch.manual_seed(seed)
    model = GPT(GPTConfig()).cuda()  # the study's 6L/384
    if recipe != "bf16": quantize_model(model, recipe)
    run = CompiledGPT(model, "reduce-overhead") if compiled else model
    torch._dynamo.reset()
    with gemm_backend(backend), torch.autocast("cuda", torch.bfloat16):
        _, loss = run(tokens[:, :-1], tokens[:, 1:])
        loss.backward()
    return {"loss": loss.detach().clone()} | {n: p.grad.detach().clone() for n, p in model.named_parameters()}


def compiled_step0(tokens) -> dict:
    """Compiled as runs train: fp8_current_h100 against execution hardware, and each against a second compiled
    run of itself: which parameters' gradients differ."""
    runs = {name: gradients(recipe, "auto", tokens, compiled=True) for name, recipe in
            (("emulated", "fp8_current_h100"), ("emulated_again", "fp8_current_h100"), ("hardware", HARDWARE),
             ("hardware_again", HARDWARE))}
    names = [n for n in runs["emulated"] if n != "loss"]
    differ = lambda x, y: [n for n in names if not torch.equal(bits(runs[x][n]), bits(runs[y][n]))]
    result = {f"{x} vs {y}": differ(x, y) for x, y in (("emulated", "hardware"), ("emulated", "emulated_again"),
                                                       ("hardware", "hardware_again"))}
    result["losses"] = {k: v["loss"].item() for k, v in runs.items()}
    print(json.dumps(result), flush=True)
    return result


def step0() -> dict:
    tokens = torch.randint(0, 50257, (32, 257), generator=torch.Generator().manual_seed(1)).cuda()
    started = time.perf_counter()
    card = gradients("fp8_current_h100", "card", tokens)
    card_s = time.perf_counter() - started
    started = time.perf_counter()
    model = gradients("fp8_current_h100", "model", tokens)
    model_s = time.perf_counter() - started
    hardware = gradients(HARDWARE, "auto", tokens)
    names = [n for n in card if n != "loss"]
    result = dict(parameters=len(names), values=sum(card[n].numel() for n in names), seconds_card=card_s,
                  seconds_model=model_s, loss_card=card["loss"].item())
    for name, other in (("model", model), ("hardware", hardware)):
        same = {n: int((bits(card[n]) == bits(other[n])).sum()) for n in names}
        result[name] = dict(identical_parameters=sum(same[n] == card[n].numel() for n in names),
                            identical_values=sum(same.values()), loss=other["loss"].item(),
                            differing=[n for n in names if same[n] != card[n].numel()][:20])
    for other in ("fp8_current", "bf16"):
        grads = gradients(other, "auto", tokens)
        rel = [((grads[n].float() - card[n].float()).norm() / card[n].float().norm()).item() for n in names
               if card[n].float().norm() > 0]
        result[f"rel_l2_{other}"] = dict(median=statistics.median(rel), min=min(rel), max=max(rel))
    result["compiled"] = compiled_step0(tokens)
    print(json.dumps(result), flush=True)
    return result


def losses(data_path: str, steps: int = 100) -> dict:
    """The study run's first `steps` training losses and median step time per recipe, compiled (as runs train) and
    eager; for the two fp8_current_h100 arms, the parameters that differ after one step."""
    config_file = str(Path(__file__).resolve().parents[1] / "configs" / "e5m2_short.yaml")
    base = dict(data_source="text", data_path=data_path, device="cuda", max_steps=500, diagnostic_interval=10**9,
                eval_interval=10**9, checkpoint_dir=tempfile.mkdtemp(), save_checkpoints=False)
    data = prepare_data(load_config(config_file, **base))
    out = {}
    arms = (("bf16", "bf16"), ("fp8_current", "fp8_current"), ("fp8_current_h100", "fp8_current_h100"),
            ("hardware", HARDWARE))
    for compiled in (True, False):
        after_one = {}
        for name, recipe in arms if compiled else arms[2:]:
            torch._dynamo.reset()
            trainer = Trainer(load_config(config_file, **base, recipe=recipe, compile=compiled), data)
            metrics = [trainer.train_step()]
            after_one[name] = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
            metrics += [trainer.train_step() for _ in range(steps - 1)]
            key = name + ("" if compiled else "_eager")
            out[key] = dict(losses=[m["loss"] for m in metrics],
                            ms_per_step=statistics.median(m["step_ms"] for m in metrics[10:]))
            print(key, json.dumps({k: v for k, v in out[key].items() if k != "losses"}), flush=True)
            del trainer
        emulated, hardware = (out[k + ("" if compiled else "_eager")]["losses"] for k in ("fp8_current_h100", "hardware"))
        out["compiled" if compiled else "eager"] = dict(
            identical_losses=sum(a == b for a, b in zip(emulated, hardware)),
            first_difference=next((i for i, (a, b) in enumerate(zip(emulated, hardware)) if a != b), None),
            parameters_differing_after_one_step=[n for n, p in after_one["fp8_current_h100"].items()
                                                 if not torch.equal(p, after_one["hardware"][n])])
        print(json.dumps(out["compiled" if compiled else "eager"]), flush=True)
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path)
    p.add_argument("--data-path", default="data/eurlex_en.txt.gz")
    p.add_argument("--parts", nargs="+", default=["shapes", "step0", "losses"])
    args = p.parse_args()
    rows = shapes() if "shapes" in args.parts else []
    s0 = step0() if "step0" in args.parts else None
    trained = losses(args.data_path) if "losses" in args.parts else None
    lines = [f"# A recipe's GEMMs with the H100's accumulation: card against model on {torch.cuda.get_device_name()}",
             "", f"torch {torch.__version__}; written by `bench/accumulation_check.py`.", ""]
    if rows:
        lines += ["## Every GEMM shape of two models' linear layers (8192 tokens), bfloat16 out: first 256 rows",
                  "", "| model | layer | GEMM | M x K x N | accumulation | identical | outputs | k_splits | kernel |",
                  "|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['model']} | {r['layer']} | {r['gemm']} | {r['M']}x{r['K']}x{r['N']} | {r['mode']} | "
                  f"{r['identical']} | {r['outputs']} | {r['k_splits']} | {' + '.join(r['kernels'])[:80]} |"
                  for r in rows]
        lines += ["", f"Identical: {sum(r['identical'] for r in rows)} of {sum(r['outputs'] for r in rows)} outputs.",
                  ""]
    if s0:
        lines += ["## One training step of the study model, fp8_current_h100 emulated with its GEMMs on the card", "",
                  f"Loss {s0['loss_card']}; the step took {s0['seconds_card']:.1f} s (card), "
                  f"{s0['seconds_model']:.1f} s (model).", "",
                  *(f"- {k}: gradients identical bit for bit in {v['identical_parameters']} of {s0['parameters']} "
                    f"parameters, {v['identical_values']} of {s0['values']} values; loss {v['loss']}"
                    for k, v in s0.items() if k in ("model", "hardware")),
                  *(f"- {k[7:]} against it: relative L2 per parameter, median {v['median']:.4g} "
                    f"({v['min']:.3g}..{v['max']:.3g})" for k, v in s0.items() if k.startswith("rel_l2_")),
                  "", "Compiled (reduce-overhead, as runs train), parameters whose gradients differ:", "",
                  *(f"- {k}: {len(v)} {v[:6]}" for k, v in s0["compiled"].items() if k != "losses"),
                  f"- losses: {s0['compiled']['losses']}", ""]
    if trained:
        lines += ["## 100 training steps of the study run (e5m2_short.yaml)", ""]
        for mode in ("compiled", "eager"):
            t = trained[mode]
            lines.append(f"- {mode}: fp8_current_h100 emulated against execution hardware: {t['identical_losses']} "
                         f"of 100 training losses identical (first difference: step {t['first_difference']}); "
                         f"parameters differing after one step: {len(t['parameters_differing_after_one_step'])} "
                         f"{t['parameters_differing_after_one_step'][:8]}")
        lines += ["", "| recipe | ms/step (median of steps 10-99) | loss at step 99 |", "|---|---|---|",
                  *(f"| {k} | {v['ms_per_step']:.2f} | {v['losses'][-1]:.4f} |" for k, v in trained.items()
                    if "losses" in v)]
    publish("\n".join(lines) + "\n", args.out, "accumulation_check_h100",
            {"shapes": rows, "step0": s0, "losses": trained})

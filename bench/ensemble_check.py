"""Can K seeds train as one stacked step (torch.func: stack_module_state + vmap) with each seed's numbers exactly
those of its run alone? A check on the CPU, before any speed is worth measuring.

    python bench/ensemble_check.py [--seeds 42 43 44] [--out DIR]

A small GPT (2 layers, 64 wide, vocabulary 512, 4 sequences of 16 tokens per seed), unquantized: altgrad's
quantizers and its chunked loss are autograd Functions without the `setup_context` that torch.func needs, so the
plain model's logits and `F.cross_entropy` stand in for them. For each seed: the logits, the loss and every
parameter's gradient of the vmapped step against the seed's model alone, bit for bit.
"""
import argparse
import copy
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.func import functional_call, grad_and_value, stack_module_state, vmap

from altgrad.model import GPT, GPTConfig


def loss_of(logits, targets): return F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)  # one summation order for the runs alone, as for the stacked step
    config = GPTConfig(vocab_size=512, block_size=16, n_layer=2, n_head=2, n_embd=64, dropout=0.0, bias=False)
    models = []
    for seed in args.seeds:
        torch.manual_seed(seed)
        models.append(GPT(config))
    generator = torch.Generator().manual_seed(0)
    x = torch.randint(0, config.vocab_size, (len(models), 4, config.block_size), generator=generator)
    y = torch.randint(0, config.vocab_size, (len(models), 4, config.block_size), generator=generator)

    params, buffers = stack_module_state(models)
    base = copy.deepcopy(models[0])  # the module functional_call runs with each member's parameters
    def member_loss(p, b, xi, yi): return loss_of(functional_call(base, (p, b), (xi,))[0], yi)
    grads, losses = vmap(grad_and_value(member_loss))(params, buffers, x, y)
    with torch.no_grad(): logits = vmap(lambda p, b, xi: functional_call(base, (p, b), (xi,))[0])(params, buffers, x)

    lines = [f"# A stacked step of {len(models)} seeds against each seed alone (CPU, torch {torch.__version__})\n",
             "| seed | logits | loss (stacked / alone) | gradients identical | largest gradient difference | parameters that differ |",
             "|---|---|---|---|---|---|"]
    for k, (seed, model) in enumerate(zip(args.seeds, models)):
        model.zero_grad()
        alone_logits = model(x[k])[0]
        alone_loss = loss_of(alone_logits, y[k])
        alone_loss.backward()
        alone_grads = {n: p.grad for n, p in model.named_parameters()}
        differ = [n for n, g in alone_grads.items() if not torch.equal(grads[n][k], g)]
        largest = max((grads[n][k] - g).abs().max().item() for n, g in alone_grads.items())
        same_logits = "identical" if torch.equal(logits[k], alone_logits) else "differ"
        lines.append(f"| {seed} | {same_logits} | {losses[k].item():.9f} / {alone_loss.item():.9f} | "
                     f"{len(alone_grads) - len(differ)} of {len(alone_grads)} | {largest:.3g} | {', '.join(differ) or '-'} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "ensemble_cpu.md").write_text(text)


if __name__ == "__main__":
    main()

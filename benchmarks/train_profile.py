"""Where a training step's time goes: ``python benchmarks/train_profile.py [--families gan cvae] [--size 64]``.

Profiles ``--steps`` training steps of each modern family with ``torch.profiler`` (CPU), set up as
``python -m train`` runs them (``train_speed.make_step``: channels-last, bf16 autocast where
native), after ``--warmup`` untimed steps, and prints the ops that take the most self CPU time, as
a share of the step. ``--optimizer`` compares Adam's implementations on the same networks.
"""

import argparse
import statistics
import sys

from benchmarks.common import machine, markdown_table, time_calls

import torch
from torch.profiler import ProfilerActivity, profile

from benchmarks.train_speed import make_step


def top_ops(step, steps: int, warmup: int, top: int) -> tuple[list[list[str]], float]:
    """The ``top`` ops by self CPU time over ``steps`` steps: rows of (op, calls, ms per step, share)."""
    for _ in range(warmup):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    events = [e for e in prof.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events)
    rows = [[e.key, str(e.count // steps), f"{e.self_cpu_time_total / steps / 1000:.1f}", f"{100 * e.self_cpu_time_total / total:.1f}%"]
            for e in sorted(events, key=lambda e: -e.self_cpu_time_total)[:top]]
    return rows, total / steps / 1000


def optimizer_rows(family: str, size: int, steps: int) -> list[list[str]]:
    """Milliseconds of one optimizer step over all of a family's networks: for-loop, foreach and fused Adam."""
    step = make_step(family, "modern", size, ours=True)
    step.run()  # every parameter has a gradient now
    optimizers, hp = step.setup.optimizers, step.hp
    rows = []
    for name, options in (("for-loop", dict(foreach=False)), ("foreach", dict(foreach=True)), ("fused", dict(fused=True))):
        timed = []
        for optimizer in optimizers.values():
            params = [p for group in optimizer.param_groups for p in group["params"]]
            timed.append(torch.optim.Adam(params, lr=1e-12, betas=hp.betas, **options))
        seconds = statistics.median(time_calls(lambda: [o.step() for o in timed], steps, warmup=2))
        rows.append([f"{family} modern {size}", name, f"{1000 * seconds:.2f}"])
    return rows


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", nargs="+", default=["gan", "cvae", "cvaegan"])
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--optimizer", action=argparse.BooleanOptionalAction, default=True,
                   help="also time Adam's for-loop, foreach and fused implementations")
    args = p.parse_args(argv)
    print("# Where a training step's time goes\n")
    print(machine() + "\n")
    for family in args.families:
        step, hp, bf16, _ = make_step(family, "modern", args.size, ours=True)
        rows, ms = top_ops(step, args.steps, args.warmup, args.top)
        print(f"## {family} modern {args.size} px, batch {hp.batch_size} ({'bf16' if bf16 else 'float32'}): "
              f"{ms:.0f} ms of CPU per step\n")
        print(markdown_table(["op", "calls per step", "self ms per step", "share"], rows) + "\n")
        print(f"  profiled {family}", file=sys.stderr, flush=True)
    if args.optimizer:
        print("## Adam's implementations (one optimizer step of every network)\n")
        rows = [row for family in args.families for row in optimizer_rows(family, args.size, 3 * args.steps)]
        print(markdown_table(["networks", "Adam", "ms per step"], rows))


if __name__ == "__main__":
    main()

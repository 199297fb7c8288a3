"""Training throughput per family, preset and image size: ``python benchmarks/train_speed.py``.

Times full training steps (forward, backward and optimizer updates of every network a family
trains) in two settings, in the same run and on the same weights and batches:

- baseline: plain eager PyTorch, float32, contiguous tensors;
- ours: what ``python -m train`` does, channels-last weights and inputs, and bf16 autocast
  where ``pizza_models.accel.use_bf16`` enables it (CPUs with native bf16 instructions).

It also measures the machine's peak (large matmuls and a 3x3 convolution, float32 and bf16), counts
the FLOPs of one step with ``torch.utils.flop_counter.FlopCounterMode`` and reports what fraction
of the convolution peak of the matching precision each step reaches. Two side experiments show
whether more threads or ``torch.compile`` on the generator's forward would help. Everything is
printed as Markdown. ``--quick`` runs a few steps at tiny sizes only to check that the script works;
its numbers are not measurements.
"""

import argparse
import statistics
import subprocess
import sys
import time
from typing import Callable, NamedTuple

from benchmarks.common import interleaved_medians, machine, markdown_table, time_calls, usable_cores

import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from pizza_models.accel import autocast, channels_last, use_bf16
from pizza_models.menu import MENU
from pizza_models.recipe import DEFAULT_VOCABULARY, encode
from train.common import Batch
from train.loop import train_step
from train.registry import build, hyper, trainers

CPU = torch.device("cpu")
PRESETS = ("article", "modern")


# --------------------------------------------------------------------------- the machine's peak


def matmul_gflops(n: int, dtype: torch.dtype, repeats: int) -> float:
    """GFLOP/s of an n x n by n x n matrix product in ``dtype`` (median of ``repeats``)."""
    a = torch.randn(n, n).to(dtype)
    b = torch.randn(n, n).to(dtype)
    seconds = statistics.median(time_calls(lambda: torch.mm(a, b), repeats, warmup=2))
    return 2 * n**3 / seconds / 1e9


def conv_gflops(batch: int, channels: int, size: int, dtype: torch.dtype, repeats: int) -> float:
    """GFLOP/s of a channels -> channels 3x3 convolution on (batch, channels, size, size), channels-last.

    This is the shape of the models' own convolutions, so it is the peak a training step could
    reach on this machine, more honest than the large-matmul figure.
    """
    x = torch.randn(batch, channels, size, size).to(dtype=dtype, memory_format=torch.channels_last)
    w = torch.randn(channels, channels, 3, 3).to(dtype=dtype, memory_format=torch.channels_last)
    seconds = statistics.median(time_calls(lambda: F.conv2d(x, w, padding=1), repeats, warmup=2))
    return 2 * batch * channels * channels * 9 * size * size / seconds / 1e9


def peaks(quick: bool) -> dict[str, tuple[str, float]]:
    """The machine's GFLOP/s, matmul and conv in float32 and bf16: {name: (shape, GFLOP/s)}.

    bf16 only where the CPU runs it natively: emulated, one 2048^3 product takes half a minute and
    training never uses it there.
    """
    n, batch, repeats = (512, 16, 3) if quick else (2048, 64, 10)
    matmul, conv = f"{n}x{n} @ {n}x{n}", f"64->64 3x3, 32x32, batch {batch}"
    dtypes = [("fp32", torch.float32)] + ([("bf16", torch.bfloat16)] if use_bf16(CPU) else [])
    return {
        **{f"matmul {name}": (matmul, matmul_gflops(n, dtype, repeats)) for name, dtype in dtypes},
        **{f"conv {name}": (conv, conv_gflops(batch, 64, 32, dtype, repeats)) for name, dtype in dtypes},
    }


# --------------------------------------------------------------------------- one configuration


def batch_for(setup, hp, seed: int = 0) -> Batch:
    """A batch as the data loader gives it: images in [-1, 1] and the family's recipe codes, or, for a
    family with data of its own (the layered one's layers), a batch of that data."""
    trainer = trainers()[hp.family]
    if trainer.data is not None:
        data = trainer.data(hp, DEFAULT_VOCABULARY, hp.batch_size, seed, False, setup)
        return Batch(*data.collate([data[i] for i in range(hp.batch_size)]))
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(hp.batch_size, 3, hp.image_size, hp.image_size, generator=generator) * 2 - 1
    encoding = getattr(setup.export().config, "encoding", "counts")  # as train/__main__.py picks it
    recipes = list(MENU.values())
    code = torch.stack([encode(recipes[i % len(recipes)], encoding, DEFAULT_VOCABULARY) for i in range(hp.batch_size)])
    return Batch(x, code)


class Step(NamedTuple):
    run: Callable[[], None]  # one training step on a fixed batch
    hp: object
    bf16: bool
    setup: object  # the networks and optimizers it trains


def make_step(family: str, preset: str, size: int, ours: bool, batch: "int | None" = None) -> Step:
    """One training step as a zero-argument function, set up as baseline or as the loop does;
    ``batch`` overrides the preset's batch size."""
    hp = hyper(family, preset, size, batch_size=batch)
    torch.manual_seed(0)  # the same weights for both settings
    setup = build(hp, DEFAULT_VOCABULARY)
    bf16 = ours and use_bf16(CPU)
    batch = batch_for(setup, hp)
    for net in setup.nets.values():
        (channels_last(net) if ours else net).train()
    if ours:
        batch = batch._replace(x=batch.x.contiguous(memory_format=torch.channels_last))
    nets = setup.modules()
    return Step(lambda: train_step(setup, nets, batch, hp, CPU, bf16), hp, bf16, setup)


def step_flops(step) -> int:
    """FLOPs of one step (forward and backward; the optimizer's elementwise updates are not counted)."""
    counter = FlopCounterMode(display=False)
    with counter:
        step()
    return counter.get_total_flops()


def measure(family: str, preset: str, size: int, batch, steps: int, warmup: int, peak: dict) -> dict:
    """One round of one configuration: baseline and ours images/s, GFLOP per step, ours' fraction of peak."""
    baseline, hp, _, _ = make_step(family, preset, size, ours=False, batch=batch)
    ours, _, bf16, _ = make_step(family, preset, size, ours=True, batch=batch)
    flops = step_flops(baseline)  # in float32, so both settings count the same work; doubles as a warm-up step
    t_base, t_ours = interleaved_medians([baseline, ours], steps, warmup)
    _, conv_peak = peak["conv bf16" if bf16 else "conv fp32"]
    return {"batch": hp.batch_size, "baseline": hp.batch_size / t_base, "ours": hp.batch_size / t_ours,
            "speed-up": t_base / t_ours, "gflop": flops / 1e9, "peak": conv_peak, "fraction": flops / t_ours / 1e9 / conv_peak}


def spread(values: list[float], fmt: str) -> str:
    """The median, and the range when there is more than one value: "3.52 (3.1-6.4)"."""
    median = format(statistics.median(values), fmt)
    return median if len(values) == 1 else f"{median} ({format(min(values), fmt)}-{format(max(values), fmt)})"


# --------------------------------------------------------------------------- side experiments


def threads_experiment(family: str, preset: str, size: int, batch, steps: int, warmup: int) -> list[list[str]]:
    """Ours' images/s at 1 thread and at every usable core, for one configuration."""
    default = torch.get_num_threads()
    rows = []
    try:
        for threads in sorted({1, usable_cores(), default}):
            torch.set_num_threads(threads)
            step, hp, _, _ = make_step(family, preset, size, ours=True, batch=batch)
            seconds = statistics.median(time_calls(step, steps, warmup))
            rows.append([f"{family} {preset} {size}", str(threads), f"{hp.batch_size / seconds:.1f}"])
    finally:
        torch.set_num_threads(default)
    return rows


def compile_experiment(size: int, batch, steps: int, warmup: int) -> list[str]:
    """The modern generator's forward (as the GAN step's no-grad fake batch), eager vs ``torch.compile``.

    Run with ours' settings; the compile time is that of the first call. Returns one table row,
    or a row saying why compile could not be used here.
    """
    hp = hyper("gan", "modern", size, batch_size=batch)
    torch.manual_seed(0)
    setup = build(hp, DEFAULT_VOCABULARY)
    G = channels_last(setup.nets["G"]).train()
    bf16 = use_bf16(CPU)
    z = G.sample_latent(hp.batch_size, device=CPU)
    code = batch_for(setup, hp).code

    def forward(model):
        def run():
            with torch.no_grad(), autocast(CPU, bf16):
                model(z, code)
        return run

    eager = forward(G)
    label = f"gan modern {size} G forward, batch {hp.batch_size}"
    try:
        compiled = forward(torch.compile(G))
        start = time.perf_counter()
        compiled()
        compile_s = time.perf_counter() - start
    except Exception as error:  # no C++ compiler, an unsupported op: report, do not fail the benchmark
        return [label, "-", "-", f"compile failed: {type(error).__name__}: {str(error).splitlines()[0][:80]}", "-"]
    t_eager, t_compiled = interleaved_medians([eager, compiled], steps, warmup)
    return [label, f"{1000 * t_eager:.2f}", f"{1000 * t_compiled:.2f}", f"{compile_s:.1f}", f"{t_eager / t_compiled:.2f}x"]


BUSY = "import torch; torch.set_num_threads({threads}); a = torch.randn(512, 512)\nwhile True: a @ a"


def concurrent_experiment(family: str, preset: str, size: int, batch, steps: int, warmup: int,
                          threads: int) -> list[list[str]]:
    """Images/s while another process keeps ``threads`` threads busy (as a test run beside training):
    the baseline with torch's default threads, ours with them, and ours with one thread."""
    default = torch.get_num_threads()
    job = subprocess.Popen([sys.executable, "-c", BUSY.format(threads=threads)])
    rows = []
    try:
        time.sleep(2)  # the other job is running before anything is timed
        baseline, hp, _, _ = make_step(family, preset, size, ours=False, batch=batch)
        ours, _, _, _ = make_step(family, preset, size, ours=True, batch=batch)
        t_base, t_ours = interleaved_medians([baseline, ours], steps, warmup)
        torch.set_num_threads(1)
        t_one = interleaved_medians([ours], steps, warmup)[0]
    finally:
        torch.set_num_threads(default)
        job.kill()
        job.wait()
    label = f"{family} {preset} {size}, another job on {threads} threads"
    for name, seconds, n in (("baseline", t_base, default), ("ours", t_ours, default), ("ours, --threads 1", t_one, 1)):
        rows.append([label, name, str(n), f"{hp.batch_size / seconds:.1f}", f"{t_base / seconds:.2f}x"])
    return rows


# --------------------------------------------------------------------------- command line


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--families", nargs="+", choices=sorted(trainers()), default=sorted(trainers()),
                   help="the families to time (default: every one)")
    p.add_argument("--presets", nargs="+", choices=PRESETS, default=list(PRESETS))
    p.add_argument("--sizes", nargs="+", type=int, default=None, help="image sizes (default 32 64; --quick: 32)")
    p.add_argument("--batch", type=int, default=None, help="batch size for every family (default: each preset's; --quick: 4)")
    p.add_argument("--steps", type=int, default=None, help="timed steps per setting (default 30; --quick: 2)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps per setting (default 5; --quick: 1)")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                   help="try torch.compile on the generator forward (default on; off with --quick: compiling takes minutes)")
    p.add_argument("--num-threads", type=int, default=None,
                   help="torch threads for the main table (default: torch's own; --quick: 1, since on a busy "
                        "machine two spinning OpenMP threads can be many times slower than one)")
    p.add_argument("--thread-sweep", action=argparse.BooleanOptionalAction, default=True,
                   help="compare 1 thread with all usable cores on one configuration")
    p.add_argument("--rounds", type=int, default=None,
                   help="repeat the peak and every configuration this many times, interleaved (default 3; --quick: 1)")
    p.add_argument("--concurrent", type=int, default=0, metavar="THREADS",
                   help="also time the side-experiment configuration while another process keeps THREADS threads busy")
    p.add_argument("--quick", action="store_true",
                   help="a few steps at 32 px, batch 4: checks the script, measures nothing")
    args = p.parse_args(argv)
    args.sizes = args.sizes or ([32] if args.quick else [32, 64])
    args.batch = args.batch or (4 if args.quick else None)
    args.num_threads = args.num_threads or (1 if args.quick else None)
    args.steps = args.steps or (2 if args.quick else 30)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 5)
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.compile = (not args.quick) if args.compile is None else args.compile
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    default_threads = torch.get_num_threads()
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    print("# Training throughput\n")
    print(machine() + "\n")
    if args.quick:
        print("*--quick: a few steps at tiny sizes, to check the script; these numbers are not measurements.*\n")

    # Rounds: the machine's peak, then every configuration, again and again. AMX/bf16 peaks move
    # with warm-up and clock speed, so one shot can mislead; medians and ranges over rounds do not.
    # Every family in every preset it has (the layered model has the modern one only).
    configs = [(f, p, s) for f in args.families for p in args.presets if p in trainers()[f].presets for s in args.sizes]
    rounds: dict[tuple, list[dict]] = {c: [] for c in configs}
    peak_rounds: list[dict] = []
    for r in range(args.rounds):
        peak = peaks(args.quick)
        peak_rounds.append(peak)
        for config in configs:
            rounds[config].append(measure(*config, args.batch, args.steps, args.warmup, peak))
            print(f"  round {r + 1}/{args.rounds}: measured {' '.join(map(str, config))}", file=sys.stderr, flush=True)
    print("## Peak of this machine\n")
    print(markdown_table(["kernel", "shape", "GFLOP/s"],
                         [[name, shape, spread([p[name][1] for p in peak_rounds], ".1f")] for name, (shape, _) in peak_rounds[0].items()]))
    print("\nconv: conv2d with channels-last tensors, the shape of the models' own layers. Median of timed calls"
          + (f"; median (min-max) over {args.rounds} rounds." if args.rounds > 1 else ".") + "\n")

    print("## Training steps\n")
    rows = []
    for (family, preset, size), results in rounds.items():
        column = lambda key, fmt: spread([r[key] for r in results], fmt)  # noqa: E731
        rows.append([family, preset, str(size), str(results[0]["batch"]), column("baseline", ".1f"), column("ours", ".1f"),
                     column("speed-up", ".2f") + "x", f"{results[0]['gflop']:.2f}",
                     spread([100 * r["fraction"] for r in results], ".1f") + "%"])
    print(markdown_table(["family", "preset", "size", "batch", "baseline img/s", "ours img/s", "speed-up",
                          "GFLOP/step", "% of peak"], rows))
    ours = "channels-last + bf16 autocast" if use_bf16(CPU) else "channels-last, float32 (no native bf16 here)"
    print(f"\nbaseline: eager float32, contiguous. ours: {ours}, as `python -m train`. Median of {args.steps} "
          f"timed steps after {args.warmup} warm-up steps, the two settings alternating; over {args.rounds} round(s), "
          "each after a fresh measurement of the peak: median (min-max). GFLOP/step: "
          "FlopCounterMode on one float32 step (forward + backward; optimizer updates not counted). "
          "% of peak: ours' FLOP/s over the conv2d peak of its precision, measured in the same round.\n")

    side_experiments(args, default_threads)


def side_experiments(args: argparse.Namespace, default_threads: int) -> None:
    """Threads, a concurrent job and torch.compile, on one configuration."""
    size = max(args.sizes)
    # The side experiments use the modern GAN where selected: it is the family the app trains longest.
    family = "gan" if "gan" in args.families else args.families[0]
    preset = "modern" if "modern" in args.presets else args.presets[0]
    if args.thread_sweep:
        print("## Threads\n")
        print(markdown_table(["config (ours)", "threads", "img/s"],
                             threads_experiment(family, preset, size, args.batch, args.steps, args.warmup)))
        print(f"\ntorch's default here: {default_threads} threads; the table above ran with {torch.get_num_threads()}.\n")
    if args.concurrent:
        print("## With a concurrent job\n")
        print(markdown_table(["config", "setting", "threads", "img/s", "vs baseline"],
                             concurrent_experiment(family, preset, size, args.batch, args.steps, args.warmup, args.concurrent)))
        print("\nThe other job multiplies 512x512 matrices on its threads, as a test run or a second training "
              "run would. Under `taskset -c N` torch starts with one thread per allowed core by itself.\n")
    if args.compile:
        print("## torch.compile (default mode)\n")
        print(markdown_table(["what", "eager ms", "compiled ms", "compile s", "speed-up"],
                             [compile_experiment(size, args.batch, args.steps, args.warmup)]))
        print()


if __name__ == "__main__":
    main()

"""Generation latency: one 64x64 pizza and a 16-pizza grid, ``python benchmarks/generate_speed.py``.

Compares, in the same run and on the same weights, latents and recipes:

- baseline: plain eager PyTorch, float32, contiguous, under ``torch.no_grad()``;
- ours: ``torch.inference_mode()``, channels-last weights, bf16 autocast where
  ``pizza_models.accel.use_bf16`` enables it and, where it measurably helps, ``torch.compile``.

Each is timed on its first call (model construction or checkpoint loading included, as an app
pays it on its first request) and in steady state (median of many calls). The first calls run by
default each in a fresh Python process, so that no earlier call has warmed any cache for them.
Ours' pictures are checked against the baseline's so a speed-up cannot come from wrong pictures.

Without ``--checkpoint`` the models are a freshly built modern CVAE and modern GAN generator at
64x64 (random weights: the same work per pizza as trained ones). ``--quick`` checks the script with
a few calls in one process; its numbers are not measurements.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import interleaved_medians, machine, markdown_table

import torch

from pizza_models.accel import autocast, channels_last, use_bf16

from pizza_models.menu import MENU
from pizza_models.recipe import encode

CPU = torch.device("cpu")
# bf16 keeps 8 significant bits, about 0.4% per rounding; through a dozen layers the worst pixel may
# drift a few times that, while a wrong picture is off by ~100%. Relative to the baseline's largest
# pixel, because freshly built (untrained) models draw faint pictures, |pixel| well under 1, where an
# absolute tolerance would let anything pass.
TOLERANCE = 0.05


# --------------------------------------------------------------------------- models and inputs


def model_specs(checkpoints: list[str]) -> list[tuple[str, object]]:
    """(label, loader) per model; a loader builds or loads the model, in eval mode, on the CPU."""
    if checkpoints:
        from pizza_models.evaluation.evaluate import load_checkpoint
        from pizza_models.hub import read_config
        from pizza_models.registry import model_classes

        specs = []
        for folder in checkpoints:
            family = read_config(folder)["family"]
            if not model_classes()[family].draws:
                raise SystemExit(f"{folder}: a {family!r} checkpoint draws no pizzas; give one of a drawing family")
            specs.append((f"{family} {Path(folder).name}", lambda folder=folder: load_checkpoint(folder)))
        return specs

    from pizza_models.families.cvae import CVAE, CVAEConfig
    from pizza_models.families.gan import Generator, GANConfig

    def fresh(cls, config):
        def load():
            torch.manual_seed(0)  # the same weights in every process
            return cls(config).eval()
        return load

    return [("modern CVAE 64", fresh(CVAE, CVAEConfig.modern(64))),
            ("modern Generator 64", fresh(Generator, GANConfig.modern(64)))]


def inputs(model, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Fixed latents and menu recipes for ``batch`` pizzas, in the model's recipe encoding."""
    z = model.sample_latent(batch, generator=torch.Generator().manual_seed(0), device=CPU)
    recipes = list(MENU.values())
    config = model.config
    codes = torch.stack([encode(recipes[i % len(recipes)], config.encoding, config.vocabulary) for i in range(batch)])
    return z, codes


def prepare(model, ours: bool, compiled: bool):
    """A function (z, codes) -> float32 images, set up as the baseline or as ours."""
    if not ours:
        def baseline(z, codes):
            with torch.no_grad():
                return model.draw(z, codes)
        return baseline

    model = channels_last(model)
    bf16 = use_bf16(CPU)
    draw = torch.compile(lambda z, codes: model.draw(z, codes)) if compiled else (
        lambda z, codes: model.draw(z, codes))

    def fast(z, codes):
        # inference_mode skips the autograd bookkeeping no_grad still does (version counters, views).
        with torch.inference_mode(), autocast(CPU, bf16):
            return draw(z, codes).float()
    return fast


def first_call_ms(loader, batch: int, ours: bool, compiled: bool) -> float:
    """Milliseconds from nothing to the first batch of pizzas: build or load, prepare, draw once."""
    start = time.perf_counter()
    model = loader()
    draw = prepare(model, ours, compiled)
    draw(*inputs(model, batch))
    return 1000 * (time.perf_counter() - start)


def cold_first_call_ms(args, index: int, batch: int, ours: bool, compiled: bool) -> float:
    """``first_call_ms`` in a fresh Python process: nothing loaded, no kernel or compile cache warm.

    Inductor's on-disk cache is switched off there too, so a compiled first call includes the
    whole compilation, as on a machine that never ran the model before.
    """
    command = [sys.executable, __file__, "--first-call-of", str(index), "--batches", str(batch),
               "--variant", "ours" if ours else "baseline"]
    command += ["--compile", "on" if compiled else "off"]
    command += [arg for folder in args.checkpoint for arg in ("--checkpoint", folder)]
    if args.num_threads:
        command += ["--num-threads", str(args.num_threads)]
    env = dict(os.environ, TORCHINDUCTOR_FORCE_DISABLE_CACHES="1")
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode:
        raise RuntimeError(f"first-call process failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])["ms"]


# --------------------------------------------------------------------------- experiments


def compile_helps(loader, batch: int, calls: int, warmup: int) -> tuple[list[str], bool]:
    """Ours eager vs ours compiled in steady state at ``batch``: a table row, and whether to keep compile.

    Kept only when it is at least 10% faster: a smaller gain does not pay for a first call that
    takes tens of seconds longer.
    """
    model = loader()
    z, codes = inputs(model, batch)
    eager = prepare(model, ours=True, compiled=False)
    try:
        compiled = prepare(loader(), ours=True, compiled=True)
        start = time.perf_counter()
        compiled(z, codes)
        compile_s = time.perf_counter() - start
    except Exception as error:  # no C++ compiler, an unsupported op: report, keep eager
        return [str(batch), "-", "-", f"failed: {type(error).__name__}", "no"], False
    t_eager, t_compiled = interleaved_medians([lambda: eager(z, codes), lambda: compiled(z, codes)], calls, warmup)
    keep = t_compiled < 0.9 * t_eager
    return [str(batch), f"{1000 * t_eager:.2f}", f"{1000 * t_compiled:.2f}", f"{compile_s:.1f}",
            "yes" if keep else "no"], keep


def steady_and_agreement(loader, batch: int, compiled: bool, calls: int, warmup: int):
    """Median ms of baseline and ours, the max and mean absolute difference of their pictures, and the
    baseline's largest absolute pixel (the scale of the differences)."""
    base = prepare(loader(), ours=False, compiled=False)
    ours = prepare(loader(), ours=True, compiled=compiled)
    z, codes = inputs(loader(), batch)
    t_base, t_ours = interleaved_medians([lambda: base(z, codes), lambda: ours(z, codes)], calls, warmup)
    reference = base(z, codes)
    diff = (reference - ours(z, codes)).abs()
    return 1000 * t_base, 1000 * t_ours, diff.max().item(), diff.mean().item(), reference.abs().max().item()


# --------------------------------------------------------------------------- command line


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", action="append", default=[], metavar="DIR",
                   help="a checkpoint folder of a drawing family (repeatable); default: fresh modern CVAE and Generator at 64x64")
    p.add_argument("--batches", nargs="+", type=int, default=[1, 16], help="pizzas per call (default 1 16)")
    p.add_argument("--calls", type=int, default=None, help="timed steady-state calls (default 50; --quick: 3)")
    p.add_argument("--warmup", type=int, default=None, help="untimed calls before them (default 5; --quick: 1)")
    p.add_argument("--compile", choices=("auto", "on", "off"), default=None,
                   help="torch.compile in ours: auto keeps it where it is 10%% faster (default auto; --quick: off)")
    p.add_argument("--cold", action=argparse.BooleanOptionalAction, default=None,
                   help="time each first call in a fresh process (default on; --quick: off, in this process)")
    p.add_argument("--num-threads", type=int, default=None,
                   help="torch threads (default: torch's own; --quick: 1, since on a busy machine two "
                        "spinning OpenMP threads can be many times slower than one)")
    p.add_argument("--quick", action="store_true", help="a few calls in one process: checks the script, measures nothing")
    p.add_argument("--first-call-of", type=int, default=None, help=argparse.SUPPRESS)  # a cold_first_call_ms child
    p.add_argument("--variant", choices=("baseline", "ours"), default="ours", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.calls = args.calls or (3 if args.quick else 50)
    args.warmup = args.warmup if args.warmup is not None else (1 if args.quick else 5)
    args.compile = args.compile or ("off" if args.quick else "auto")
    args.cold = (not args.quick) if args.cold is None else args.cold
    args.num_threads = args.num_threads or (1 if args.quick else None)
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.num_threads:
        torch.set_num_threads(args.num_threads)
    specs = model_specs(args.checkpoint)

    if args.first_call_of is not None:  # the child process of cold_first_call_ms
        _, loader = specs[args.first_call_of]
        ms = first_call_ms(loader, args.batches[0], args.variant == "ours", args.compile == "on")
        print(json.dumps({"ms": ms}))
        return

    print("# Generation latency\n")
    print(machine() + "\n")
    if args.quick:
        print("*--quick: a few calls in one process, to check the script; these numbers are not measurements.*\n")

    compiled = {label: args.compile == "on" for label, _ in specs}
    if args.compile == "auto":
        print("## torch.compile (default mode) on ours, steady state\n")
        rows = []
        for label, loader in specs:
            row, compiled[label] = compile_helps(loader, max(args.batches), args.calls, args.warmup)
            rows.append([label, *row])
        print(markdown_table(["model", "batch", "eager ms", "compiled ms", "compile s", "used in ours"], rows) + "\n")

    timing, agreement = [], []
    for index, (label, loader) in enumerate(specs):
        for batch in args.batches:
            firsts = []
            for ours in (False, True):
                use_compile = ours and compiled[label]
                firsts.append(cold_first_call_ms(args, index, batch, ours, use_compile) if args.cold
                              else first_call_ms(loader, batch, ours, use_compile))
            t_base, t_ours, max_diff, mean_diff, scale = steady_and_agreement(loader, batch, compiled[label], args.calls,
                                                                        args.warmup)
            name = label + (" (compiled)" if compiled[label] else "")
            timing.append([name, str(batch), f"{firsts[0]:.1f}", f"{t_base:.2f}", f"{firsts[1]:.1f}", f"{t_ours:.2f}",
                           f"{t_base / t_ours:.2f}x"])
            relative = max_diff / max(scale, 1e-12)
            agreement.append([name, str(batch), f"{max_diff:.4f}", f"{mean_diff:.5f}", f"{scale:.3f}",
                              f"{100 * relative:.2f}%", "yes" if relative <= TOLERANCE else "**NO**"])
            print(f"  measured {label} batch {batch}", file=sys.stderr, flush=True)

    print("## Latency\n")
    print(markdown_table(["model", "batch", "baseline first (ms)", "baseline steady (ms)", "ours first (ms)",
                          "ours steady (ms)", "speed-up"], timing))
    bf16 = "bf16 autocast" if use_bf16(CPU) else "float32 (no native bf16 here)"
    where = ("each in a fresh Python process (import of torch not counted; inductor's disk cache off)" if args.cold
             else "in this process, one after another, so later ones find caches that earlier ones warmed")
    print(f"\nbaseline: eager float32, contiguous, no_grad. ours: inference_mode, channels-last, {bf16}"
          f"{', torch.compile where marked (compiled): its first call includes the compilation' if any(compiled.values()) else ''}. "
          f"First call: build or load the model, prepare it and draw once, {where}. Steady: median of {args.calls} "
          f"calls after {args.warmup} warm-up calls, the two alternating. Speed-up: of the steady state.\n")
    print("## Do ours' pictures match the baseline's?\n")
    print(markdown_table(["model", "batch", "max abs diff", "mean abs diff", "max abs pixel (baseline)",
                          "max diff / max pixel", f"within {100 * TOLERANCE:.0f}%"], agreement))
    print(f"\nPixels in [-1, 1]. The check is relative to the baseline's largest pixel, since untrained models "
          f"draw faint pictures; {100 * TOLERANCE:.0f}% allows bf16 rounding, not a different picture.")


if __name__ == "__main__":
    main()

"""What a user of the app waits for: one 64x64 pizza and a 16-pizza grid, ``python benchmarks/app_latency.py``.

For each shipped 64x64 generator, in the same run and on the same weights, recipes and seeds:

- baseline: the plain eager model (float32, contiguous weights, ``torch.no_grad``) plus the
  conversion to PIL images, in this process;
- pipeline: ``pizza_models.pipeline.generate``, what the app calls (channels-last weights,
  ``inference_mode``, bf16 autocast where the CPU runs it natively), in this process;
- app: a ``/generate`` call through ``gradio_client`` to ``python app.py`` on localhost: the
  pipeline plus the queue, the sheet of pizzas as one PNG, HTTP and the client's download of it.
  One pizza is what a move of the noise slider redraws.

First call: the first request after loading (the app's after its start-up); steady: median of
``--calls`` calls, baseline and pipeline alternating.
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from benchmarks.common import ROOT, interleaved_medians, machine, markdown_table, time_calls

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from pizza_models.data import to_pil
from pizza_models.hub import read_config
from pizza_models.pipeline import generate, load
from pizza_models.menu import MENU
from pizza_models.recipe import encode, parse_recipe
from pizza_models.registry import model_classes

RECIPE = MENU["Pepperoni"]


def plain(folder: Path):
    """The checkpoint as a plain eager float32 model, and its draw function (baseline)."""
    model = model_classes()[read_config(folder)["family"]].from_pretrained(folder).eval()
    config = model.config
    code = encode(parse_recipe(RECIPE, config.vocabulary), config.encoding, config.vocabulary)

    def draw(n: int):
        with torch.no_grad():
            z = model.sample_latent(n, generator=torch.Generator().manual_seed(0))
            return [to_pil(x) for x in model.draw(z, code.expand(n, -1))]
    return draw


def start_app(checkpoints: Path) -> tuple[subprocess.Popen, str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port), "--checkpoints",
                                str(checkpoints)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    for _ in range(600):
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return process, url
        except OSError:
            if process.poll() is not None:
                raise SystemExit("app.py exited during start-up")
            time.sleep(0.2)
    process.kill()
    raise SystemExit("app.py did not start within 2 minutes")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoints", type=Path, default=ROOT / "checkpoints")
    p.add_argument("--models", nargs="+", default=["layered", "cvaegan", "gan", "cvae"])
    p.add_argument("--calls", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    args = p.parse_args(argv)
    from gradio_client import Client

    print("# App latency\n")
    print(machine() + "\n")
    process, url = start_app(args.checkpoints)
    try:
        client = Client(url, verbose=False, analytics_enabled=False, download_files=tempfile.mkdtemp())
        rows = []
        for name in args.models:
            folder = args.checkpoints / name
            baseline, model = plain(folder), load(folder)
            picked = list(parse_recipe(RECIPE).portions)
            for n in (1, 16):
                ours = lambda n=n: generate(model, [RECIPE], n=n)  # noqa: E731
                via_app = lambda n=n: client.predict(picked, [], 1.0, 0, n, name, api_name="/generate")  # noqa: E731
                firsts = [1000 * time_calls(fn, 1)[0] for fn in (lambda: baseline(n), ours, via_app)]
                t_base, t_ours = interleaved_medians([lambda: baseline(n), ours], args.calls, args.warmup)
                t_app = interleaved_medians([via_app], args.calls, args.warmup)[0]
                rows.append([name, str(n), f"{firsts[0]:.1f}", f"{1000 * t_base:.1f}", f"{firsts[1]:.1f}",
                             f"{1000 * t_ours:.1f}", f"{t_base / t_ours:.2f}x", f"{firsts[2]:.1f}", f"{1000 * t_app:.1f}"])
                print(f"  measured {name} x{n}", file=sys.stderr, flush=True)
    finally:
        process.terminate()
        process.wait(timeout=20)
    print(markdown_table(["model", "pizzas", "baseline first (ms)", "baseline steady (ms)", "pipeline first (ms)",
                          "pipeline steady (ms)", "speed-up", "app first (ms)", "app steady (ms)"], rows))
    print(f"\nSteady: median of {args.calls} calls after {args.warmup} warm-up calls. First: the first call "
          "after loading (the app's first request after start-up, its models already loaded).")


if __name__ == "__main__":
    main()

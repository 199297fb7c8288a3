"""What a click on a pizza costs: ``/cook`` against drawing that pizza, ``python -m benchmarks.cook_latency``.

Run it on one core (``taskset -c 0 python -m benchmarks.cook_latency``): torch takes one thread, and
the app it starts inherits the core. For the shipped layered models, in the same run, on the same
recipe and seeds:

- baseline: ``pipeline.generate`` of the sheet, the model call behind ``/generate``;
- making: ``cook.making``, the steps of one pizza of that sheet from the model's layers;
- cook: what ``/cook`` does in the app's process: the making, its GIF and WebP written to disk;
- answer: ``/generate`` (baseline) and ``/cook`` against ``python app.py``, until the server's answer
  has arrived (raw HTTP, as ``curl`` would): the queue, the pictures written, the event stream;
- client: the same calls through ``gradio_client``, which also downloads every file of the answer
  (the sheet; the strip's pictures, the GIF and the WebP), one after the other.

Medians of ``--calls`` calls after ``--warmup``, the contenders of a row group alternating.
"""

import argparse
import json
import os
import sys
import tempfile
import urllib.request

from benchmarks.app_latency import start_app
from benchmarks.common import ROOT, interleaved_medians, machine, markdown_table

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch

from pizza_models.app import cook
from pizza_models.app.export import take_away_making
from pizza_models.pipeline import generate, load
from pizza_models.menu import MENU
from pizza_models.recipe import parse_recipe

RECIPE = list(parse_recipe(MENU["Pepperoni"]).portions) + ["mushrooms"]
MODELS = {"layered": ROOT / "checkpoints" / "layered", "painted": ROOT / "checkpoints" / "painted"}


def in_process(name: str, count: int, calls: int, warmup: int) -> list[float]:
    """Median ms of generate (the sheet), making, and /cook's own work, for the last pizza of a sheet."""
    model, index = load(MODELS[name]), count - 1
    steps = lambda: cook.making(model, RECIPE, n=count, index=index, seed=1, noise=1.0)  # noqa: E731
    contenders = [lambda: generate(model, [RECIPE], n=count, seed=1, noise=1.0), steps,
                  lambda: take_away_making(steps(), f"bench-{name}")]
    return [1000 * t for t in interleaved_medians(contenders, calls, warmup)]


def answer(url: str, api: str, data: list) -> None:
    """Call ``api`` over raw HTTP and read its event stream to the end (no file downloaded)."""
    request = urllib.request.Request(f"{url}gradio_api/call/{api}", data=json.dumps({"data": data}).encode(),
                                     headers={"Content-Type": "application/json"})
    event = json.loads(urllib.request.urlopen(request, timeout=60).read())["event_id"]
    events = urllib.request.urlopen(f"{url}gradio_api/call/{api}/{event}", timeout=60).read().decode()
    if "event: complete" not in events:
        raise SystemExit(f"/{api} failed: {events[:300]}")


def via_app(url: str, client, name: str, count: int, calls: int, warmup: int) -> list[float]:
    """Median ms of /generate and /cook (the last pizza of a sheet): the server's answer, then the
    client's round trip with its downloads."""
    sheet, making = [RECIPE, [], 1.0, 1, count, name], [RECIPE, [], 1.0, 1, count, count - 1, name]
    contenders = [lambda: answer(url, "generate", sheet), lambda: answer(url, "cook", making),
                  lambda: client.predict(*sheet, api_name="/generate"), lambda: client.predict(*making, api_name="/cook")]
    return [1000 * t for t in interleaved_medians(contenders, calls, warmup)]


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--counts", nargs="+", type=int, default=[1, 16], help="pizzas on the sheet")
    p.add_argument("--calls", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    os.environ.setdefault("GRADIO_TEMP_DIR", tempfile.mkdtemp())  # where take_away_making writes
    from gradio_client import Client

    print("# /cook latency\n")
    print(machine() + "\n")
    process, url = start_app(ROOT / "checkpoints")  # the shipped models, the photo-painted one first
    try:
        client = Client(url, verbose=False, analytics_enabled=False, download_files=tempfile.mkdtemp())
        rows = []
        for name in args.models:
            for count in args.counts:
                timings = [*in_process(name, count, args.calls, args.warmup),
                           *via_app(url, client, name, count, args.calls, args.warmup)]
                rows.append([name, str(count), *(f"{t:.1f}" for t in timings)])
                print(f"  measured {name} x{count}", file=sys.stderr, flush=True)
    finally:
        process.terminate()
        process.wait(timeout=20)
    print(markdown_table(["model", "pizzas", "baseline: generate (ms)", "making (ms)", "cook: making, GIF, WebP (ms)",
                          "answer /generate (ms)", "answer /cook (ms)", "client /generate (ms)", "client /cook (ms)"], rows))
    print(f"\nMedians of {args.calls} calls after {args.warmup} warm-up calls; the last pizza of the sheet is cooked.")


if __name__ == "__main__":
    main()

"""How long a photo restyle takes on one core: ``python benchmarks/restyle_speed.py``.

A 2-megapixel JPEG upload (1920 x 1080, a painted pizza on a white table) goes the whole way the
Restyle tab takes it: decoded by ``pipeline.read_photo`` (at most 1024 px a side), read by the photo
reader (``checkpoints/reader``) and edited at up to 512 px (one topping removed, one added), the
reading drawn beside it. The baseline, in the same run, is the model restyle of the same upload
(``pipeline.restyle`` with the layered model at 64 px). Medians of ``--repeats`` calls after a
warm-up; the target is 2 s for the photo edit.
"""

import argparse
import io
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
import statistics
import time

import torch
from PIL import Image

from benchmarks.common import ROOT, machine
from pizza_models.app import photo_edit
from pizza_models import pipeline
from pizza_models.framing import crop_to_disc
from pizza_models.kitchen.painted import PaintedKitchen

SOURCE = ["tomato_sauce", "mozzarella", "pepperoni", "mushrooms", "olives"]
TARGET = ["tomato_sauce", "mozzarella", "pepperoni", "olives", "bell_pepper"]
TARGET_SECONDS = 2.0


def upload() -> bytes:
    """A 1920 x 1080 JPEG of a painted pizza on a white table."""
    table = Image.new("RGB", (1920, 1080), (246, 244, 240))
    table.paste(PaintedKitchen().render(SOURCE, 3, 1000), (460, 40))
    out = io.BytesIO()
    table.save(out, "JPEG", quality=90)
    return out.getvalue()


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: sprite caches, first-call allocations
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    torch.set_num_threads(1)
    data = upload()
    reader = pipeline.load(ROOT / "checkpoints" / "reader")
    layered = pipeline.load(ROOT / "checkpoints" / "layered")
    kitchen = photo_edit.portion_kitchen()  # as the app lays additions

    def edit():
        photo, _ = pipeline.read_photo(data)
        return photo_edit.edit_photo(reader, photo, SOURCE, TARGET, kitchen=kitchen)

    def model_restyle():
        photo, _ = pipeline.read_photo(data)
        return pipeline.restyle(layered, crop_to_disc(photo), SOURCE, TARGET)

    baseline, edited = median_seconds(model_restyle, args.repeats), median_seconds(edit, args.repeats)
    print(machine())
    print(f"\nUpload: 1920x1080 JPEG ({len(data) / 1e6:.2f} MB); medians of {args.repeats} calls on one thread.\n")
    print("| restyle | result size | median (s) | target (s) |\n|---|---|---|---|")
    print(f"| baseline: layered model, 64 px | 64 px | {baseline:.3f} | - |")
    size = edit()[0].size
    verdict = "pass" if edited <= TARGET_SECONDS else "FAIL"
    print(f"| photo edit (read, remove mushrooms, add bell pepper) | {size[0]}x{size[1]} | {edited:.3f} | "
          f"{TARGET_SECONDS} ({verdict}) |")


if __name__ == "__main__":
    main()

"""Put a layered checkpoint's layers in the kitchen's drawing order: ``python scripts/reorder_layers.py FOLDER...``.

A layered model lays its layers in the order of ``config.pieces`` and ``config.strokes``, and every
table it learned per topping or drizzle (sprites, templates, layout statistics, the decomposer's
output channels) is indexed in that order. Models trained before the kitchen exported its order
estimated it from renders and got some pairs wrong; this permutes their tables into the kitchen's
order, so that each ingredient keeps everything it learned, and rewrites config.json and
model.safetensors (float16 if they were) and samples.png. A folder already in order is left alone.
"""

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import safetensors.torch
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pizza_models.hub import WEIGHTS_NAME, atomic_write_bytes, save_checkpoint  # noqa: E402
from pizza_models.kitchen.procedural import Kitchen  # noqa: E402
from pizza_models.families.layered import LayeredPizza  # noqa: E402
from pizza_models.pipeline import load  # noqa: E402
from train import artifacts  # noqa: E402
from train.loop import grid_inputs  # noqa: E402

NOTE = """## Drawing order
The layers were put in the kitchen's drawing order after training (`python scripts/reorder_layers.py`): each
ingredient keeps its sprites, templates and layout; noise values reach the toppings in the new order, so a
seed draws another sample than before. The metrics above were measured before.
"""


def slot_tables(model: LayeredPizza) -> dict[str, str]:
    """The weights indexed by layer slot, by name, and what indexes their first dimension: "pieces"
    (one row per topping), "sprites" (``variants`` rows per topping), "strokes", or "layers" (the
    base, then every layer)."""
    tables = {"sprites": "sprites", "templates": "strokes", "layout.embed.weight": "pieces", "layout.size": "pieces",
              "layout.shade_log_std": "pieces", "layout.reach": "pieces", "layout.template_logits": "strokes",
              "decomposer.to_layers.weight": "layers", "decomposer.to_layers.bias": "layers"}
    if model.config.variants > 1:
        tables["layout.variant_logits"] = "pieces"
    return tables


def reorder(model: LayeredPizza, pieces: tuple[str, ...], strokes: tuple[str, ...]) -> LayeredPizza:
    """The same model with its layers laid in the order ``pieces``, ``strokes`` (the same ingredients
    as its own): every table indexed by slot permuted, so that each ingredient keeps its own."""
    config = model.config
    if sorted(pieces) != sorted(config.pieces) or sorted(strokes) != sorted(config.strokes):
        raise ValueError(f"another set of layers: {pieces} {strokes}, the model has {config.pieces} {config.strokes}")
    piece = [config.pieces.index(i) for i in pieces]
    rows = {
        "pieces": piece,
        "sprites": [t * config.variants + v for t in piece for v in range(config.variants)],
        "strokes": [config.strokes.index(i) for i in strokes],
        "layers": [0] + [1 + config.layers.index(i) for i in pieces + strokes],
    }
    tables = slot_tables(model)
    state = model.state_dict()
    for name, kind in tables.items():  # a model without strokes (or pieces) keeps one unused row of their tables
        index = rows[kind] + list(range(len(rows[kind]), len(state[name])))
        state[name] = state[name][index]
    reordered = LayeredPizza(replace(config, pieces=tuple(pieces), strokes=tuple(strokes)))
    reordered.load_state_dict(state)
    return reordered.eval()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="layered checkpoint folders")
    args = parser.parse_args(argv)
    for folder in args.folders:
        model = load(folder)
        order = Kitchen(model.config.vocabulary).drawing_order()
        if (model.config.pieces, model.config.strokes) == order:
            print(f"{folder}: already in the kitchen's order")
            continue
        half = safetensors.torch.load_file(folder / WEIGHTS_NAME)["sprites"].dtype == torch.float16
        card = folder / "README.md"
        text = card.read_text(encoding="utf-8") if card.is_file() else None
        reordered = reorder(model, *order)
        save_checkpoint(reordered, folder, half=half)  # writes a generic card over the model's own
        if text is not None:
            atomic_write_bytes(card, (text.rstrip("\n") + "\n\n" + NOTE).encode("utf-8"))
        z, codes = grid_inputs(reordered)
        artifacts.save_png(artifacts.sample_grid(reordered, z, codes, nrow=8), folder / "samples.png")
        print(f"{folder}: layers now in the kitchen's order")
    return 0


if __name__ == "__main__":
    sys.exit(main())

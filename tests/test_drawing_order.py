"""The drawing order: the kitchen exports the order it lays its layers in, every layered model lays
them in that order (the shipped ones, and a new one as its training builds it), and
``scripts/reorder_layers.py`` puts an older model in it without losing what any ingredient learned."""

import importlib.util
import itertools
import json
from pathlib import Path

import pytest
import torch

from pizza_models.data import kitchen_recipes
from pizza_models.kitchen.procedural import Kitchen
from pizza_models.families.layered import LayeredConfig, LayeredPizza, split_latent
from pizza_models.kitchen.painted import PaintedKitchen
from pizza_models.recipe import DEFAULT_VOCABULARY, encode, parse_recipe
from train.layered import layered_config
from train.registry import hyper

ROOT = Path(__file__).resolve().parents[1]
LAYERED = [ROOT / "checkpoints" / "layered", ROOT / "checkpoints" / "painted"]  # every shipped layered model


def script():
    spec = importlib.util.spec_from_file_location("reorder_layers", ROOT / "scripts" / "reorder_layers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_kitchen_lays_its_layers_in_the_order_it_exports():
    kitchen = Kitchen()
    pieces, strokes = kitchen.drawing_order()
    assert len(pieces) == 21 and strokes == ("sweet_sour_sauce", "condensed_milk", "bbq_sauce")
    order = pieces + strokes
    seen = set()
    for i, recipe in enumerate(kitchen_recipes(150, seed=5)):
        laid = [name for name, _ in kitchen.render_layers(recipe, i, 16).layers]
        assert laid == sorted(laid, key=order.index), recipe
        seen.update(itertools.combinations(laid, 2))
    assert len(seen) > 100  # many pairs met, not just the common few


def test_the_painted_kitchen_keeps_the_kitchens_order():
    assert PaintedKitchen().drawing_order() == Kitchen().drawing_order()


@pytest.mark.parametrize("folder", LAYERED, ids=lambda f: f.name)
def test_every_shipped_layered_model_lays_every_pair_as_the_kitchen_does(folder):
    config = json.loads((folder / "config.json").read_text())
    kitchen = sum(Kitchen().drawing_order(), ())
    model = config["pieces"] + config["strokes"]
    for a, b in itertools.combinations(model, 2):  # a under b in the model: a under b in the kitchen
        assert kitchen.index(a) < kitchen.index(b), f"{folder.name}: {a} under {b}"


@pytest.mark.parametrize("kitchen", ["clipart", "painted"])
def test_a_new_layered_model_takes_the_kitchens_order(kitchen):
    config = layered_config(hyper("layered", "modern", 32, kitchen=kitchen), DEFAULT_VOCABULARY)
    assert (config.pieces, config.strokes) == Kitchen().drawing_order()


def test_a_resumed_layered_run_keeps_the_order_its_weights_are_in():
    resumed = {"family": "layered", "pieces": ["olives", "ham"], "strokes": ["bbq_sauce"]}
    config = layered_config(hyper("layered", "modern", 32), DEFAULT_VOCABULARY, resumed)
    assert (config.pieces, config.strokes) == (("olives", "ham"), ("bbq_sauce",))


def test_reordering_keeps_what_each_ingredient_learned():
    config = LayeredConfig(image_size=32, pieces=("ham", "pepperoni", "olives"), strokes=("bbq_sauce", "condensed_milk"),
                           channels=4, sprite_size=8, max_pieces=16, variants=2)
    torch.manual_seed(0)
    model = LayeredPizza(config).eval()
    with torch.no_grad():  # every table different from row to row
        for p in model.parameters():
            p.normal_()
    reorder = script().reorder
    turned = reorder(model, ("olives", "pepperoni", "ham"), ("condensed_milk", "bbq_sauce"))
    assert turned.config.pieces == ("olives", "pepperoni", "ham")
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    with torch.no_grad():
        before, after = model.decomposer(x)[0], turned.decomposer(x)[0]  # (B, 1 + L, S, S) logits
        for name in config.layers:
            assert torch.equal(before[:, 1 + config.layers.index(name)], after[:, 1 + turned.config.layers.index(name)])
        for name in config.pieces:
            a, b = config.pieces.index(name), turned.config.pieces.index(name)
            assert torch.equal(model.sprites[2 * a:2 * a + 2], turned.sprites[2 * b:2 * b + 2])
            stats = [m.layout.count_stats(torch.tensor([t]), torch.tensor([2.0]), torch.tensor([3])) for m, t in
                     ((model, a), (turned, b))]
            assert all(torch.equal(u, v) for u, v in zip(*stats))
            for table in ("size", "shade_log_std", "reach", "variant_logits"):
                assert torch.equal(getattr(model.layout, table)[a], getattr(turned.layout, table)[b]), table
        for name in config.strokes:
            a, b = config.strokes.index(name), turned.config.strokes.index(name)
            assert torch.equal(model.templates[a], turned.templates[b])
            assert torch.equal(model.layout.template_logits[a], turned.layout.template_logits[b])
    back = reorder(turned, config.pieces, config.strokes)
    assert all(torch.equal(back.state_dict()[k], v) for k, v in model.state_dict().items())


def test_a_reordered_model_draws_a_topping_as_before_given_its_noise():
    """Only the slot moves: with the topping's noise in its new slot, and its spiral turned back by
    the start angle the new slot adds, the same pizza."""
    config = LayeredConfig(image_size=32, pieces=("ham", "olives"), strokes=(), channels=4, sprite_size=8, max_pieces=16)
    torch.manual_seed(2)
    model = LayeredPizza(config).eval()
    with torch.no_grad():
        model.sprites[:, 3] = 3.0
    turned = script().reorder(model, ("olives", "ham"), ())
    codes = torch.stack([encode(parse_recipe("tomato_sauce, mozzarella, ham"), "counts", DEFAULT_VOCABULARY)])
    z, z_turned = torch.zeros(1, config.latent_dim), torch.zeros(1, config.latent_dim)
    split_latent(z_turned, turned.config).spread[0, 1, 0] = -(2**-0.5)  # slot 1 starts pi / sqrt(2) further round
    assert z_turned.abs().sum() > 0
    with torch.no_grad():
        assert torch.allclose(turned.draw(z_turned, codes), model.draw(z, codes), atol=1e-4)

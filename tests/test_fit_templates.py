"""scripts/fit_templates.py: the double-portion drizzle templates fitted on the kitchen, every other weight kept."""

import pytest
import torch

from pizza_models.families.layered import LayeredConfig, LayeredPizza
from pizza_models.hub import save_checkpoint
from pizza_models.kitchen.procedural import Kitchen
from pizza_models.pipeline import load
from pizza_models.recipe import DEFAULT_VOCABULARY, MAX_PORTIONS, parse_recipe
from scripts.fit_templates import double_drizzle_recipes, fit_double_templates, main
from train.layered import LayeredKitchen, stroke_losses

PIECES, STROKES = Kitchen().drawing_order()
CONFIG = LayeredConfig(image_size=32, pieces=PIECES, strokes=STROKES, channels=8, sprite_size=8, max_pieces=16, templates=2)


def model() -> LayeredPizza:
    torch.manual_seed(0)
    return LayeredPizza(CONFIG).eval()


def doubles(n: int) -> LayeredKitchen:
    return LayeredKitchen(CONFIG, n, seed=0, progress=False, recipes=double_drizzle_recipes(n, 0, DEFAULT_VOCABULARY, STROKES))


def test_each_recipe_doubles_one_drizzle_the_drizzles_in_turn():
    recipes = double_drizzle_recipes(9, 0, DEFAULT_VOCABULARY, STROKES)
    for i, recipe in enumerate(recipes):
        assert {d: recipe.count(d) for d in STROKES} == {d: 2 * (d == STROKES[i % len(STROKES)]) for d in STROKES}
        assert len(recipe) <= MAX_PORTIONS


def test_fitting_lowers_the_double_drizzles_loss_and_keeps_every_other_weight():
    fitted, data = model(), doubles(12)
    before = {k: v.clone() for k, v in fitted.state_dict().items()}
    x, _, parts = data.collate([data[i] for i in range(12)])
    loss_before = stroke_losses(fitted, x, parts)[0].item()
    fit_double_templates(fitted, data, steps=30, batch_size=4)
    assert stroke_losses(fitted, x, parts)[0].item() < loss_before
    assert not torch.equal(fitted.templates[:, 1], before["templates"][:, 1])
    assert torch.equal(fitted.templates[:, 0], before["templates"][:, 0])  # (S, 2, T, 4, s, s): [:, 0] single portions
    assert torch.equal(fitted.layout.template_logits[:, 0], before["layout.template_logits"][:, 0])
    changed = ("templates", "layout.template_logits")
    assert all(torch.equal(v, before[k]) for k, v in fitted.state_dict().items() if k not in changed)
    assert not any(p.requires_grad for p in fitted.parameters())


def test_a_single_drizzle_in_the_data_is_refused():
    recipes = [parse_recipe(["tomato_sauce", "mozzarella", "bbq_sauce"])] * 4
    data = LayeredKitchen(CONFIG, 4, seed=0, progress=False, recipes=recipes)
    with pytest.raises(ValueError, match="double drizzles only"):
        fit_double_templates(model(), data, steps=1, batch_size=4)


def test_too_few_pizzas_for_a_batch_is_a_clear_error():
    with pytest.raises(ValueError, match="do not fill one batch of 32"):
        fit_double_templates(model(), doubles(8), steps=1)


def test_the_script_writes_a_checkpoint_that_loads(tmp_path):
    save_checkpoint(model(), tmp_path / "shipped")
    main([str(tmp_path / "shipped"), str(tmp_path / "out"), "--kitchen", "clipart", "--pizzas", "8", "--steps", "2",
          "--batch-size", "4"])
    out, shipped = load(tmp_path / "out"), load(tmp_path / "shipped")
    assert torch.equal(out.templates[:, 0], shipped.templates[:, 0])
    assert (tmp_path / "out" / "samples.png").is_file()

"""The procedural kitchen: image contract, determinism, portions, the recipe sampler, held-out recipes."""

from collections import Counter

import numpy as np
import pytest
from PIL import Image

from pizza_models.kitchen.procedural import TOPPINGS, Kitchen
from pizza_models.recipe_sampler import HELD_OUT_RECIPES, is_held_out, sample_recipe, single_ingredient_recipe
from pizza_models.recipe import DEFAULT_VOCABULARY, MAX_PORTIONS, Recipe, Vocabulary, parse_recipe

PLAIN = "tomato_sauce, mozzarella"


@pytest.fixture(scope="module")
def kitchen():
    return Kitchen()


def pixels(image: Image.Image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


@pytest.mark.parametrize("size", [32, 64, 128])
def test_render_returns_rgb_image_of_requested_size(kitchen, size):
    image = kitchen.render("tomato_sauce, mozzarella, pepperoni", seed=0, size=size)
    assert isinstance(image, Image.Image)
    assert image.mode == "RGB" and image.size == (size, size)


def test_render_is_deterministic_for_a_seed():
    recipe = "tomato_sauce, mozzarella, pepperoni, mushrooms, bbq_sauce"
    a = Kitchen().render(recipe, seed=7, size=64)
    b = Kitchen().render(recipe, seed=7, size=64)  # a fresh instance: no hidden state carries over
    assert np.array_equal(pixels(a), pixels(b))


def test_different_seeds_give_different_pizzas(kitchen):
    a, b = (pixels(kitchen.render("tomato_sauce, mozzarella, olives", seed=s)) for s in (1, 2))
    assert np.abs(a - b).mean() > 5


def pepperoni_area(image: Image.Image) -> int:
    """Pixels of pepperoni red: deep red, far redder than the cheese or the crust."""
    rgb = pixels(image)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return int(((r > 110) & (g < 80) & (b < 70) & (r - g > 90)).sum())


def test_double_portion_draws_more_of_the_topping(kitchen):
    single = sum(pepperoni_area(kitchen.render("tomato_sauce, mozzarella, pepperoni", s, 64)) for s in range(8))
    double = sum(pepperoni_area(kitchen.render("tomato_sauce, mozzarella, pepperoni, pepperoni", s, 64)) for s in range(8))
    plain = sum(pepperoni_area(kitchen.render(PLAIN, s, 64)) for s in range(8))
    assert single > 5 * max(plain, 1)
    assert double > 1.4 * single


def test_every_single_ingredient_pizza_differs_from_plain(kitchen):
    plain = pixels(kitchen.render(PLAIN, seed=3))
    recipes = {i.id: single_ingredient_recipe(i.id) for i in DEFAULT_VOCABULARY}
    assert recipes["mozzarella"] == parse_recipe(PLAIN)
    for ingredient_id, recipe in recipes.items():
        if ingredient_id == "mozzarella":
            continue
        assert ingredient_id in recipe.ingredients
        difference = np.abs(pixels(kitchen.render(recipe, seed=3)) - plain).mean()
        assert difference > 1.0, f"{ingredient_id} is hard to see: mean difference {difference:.2f}"


def test_single_ingredient_pizzas_are_all_distinct():
    recipes = [single_ingredient_recipe(i.id) for i in DEFAULT_VOCABULARY]
    assert len(set(recipes)) == len(recipes)


def test_background_corners_are_light(kitchen):
    for seed in range(20):
        rgb = pixels(kitchen.render("tomato_sauce, mozzarella, bacon", seed=seed, size=64))
        corners = np.stack([rgb[0, 0], rgb[0, -1], rgb[-1, 0], rgb[-1, -1]])
        assert corners.min() > 215, (seed, corners)


def test_pizza_stays_inside_the_frame(kitchen):
    for seed in range(20):
        rgb = pixels(kitchen.render("tomato_sauce, mozzarella", seed=seed, size=64))
        border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
        assert border.min() > 190, seed  # only background (and a faint shadow) on the outermost pixels


def test_sampler_respects_constraints():
    rng = np.random.default_rng(0)
    recipes = [sample_recipe(rng) for _ in range(2000)]
    seen = Counter(i for r in recipes for i in r.ingredients)
    assert all(isinstance(r, Recipe) and 1 <= len(r) <= MAX_PORTIONS for r in recipes)
    assert not any(is_held_out(r) for r in recipes)
    assert all(max(Counter(r.portions).values()) <= 2 for r in recipes)
    assert set(seen) == set(DEFAULT_VOCABULARY.ids)
    assert min(seen.values()) >= 0.02 * len(recipes), seen.most_common()[-3:]
    assert 0.7 < seen["tomato_sauce"] / len(recipes) < 0.9
    assert 0.8 < seen["mozzarella"] / len(recipes) < 0.95
    assert sum(len(r.portions) > len(r.ingredients) for r in recipes) > 0.04 * len(recipes)


def test_sampler_is_deterministic_and_can_include_held_out():
    a = [sample_recipe(np.random.default_rng(5)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    rng = np.random.default_rng(1)
    hits = sum(is_held_out(sample_recipe(rng, include_held_out=True)) for _ in range(30000))
    assert hits > 0


def test_held_out_recipes_are_valid_and_recognised():
    assert len(HELD_OUT_RECIPES) == len(set(HELD_OUT_RECIPES)) >= 12
    for recipe in HELD_OUT_RECIPES:
        assert parse_recipe(recipe) == recipe and len(recipe) <= MAX_PORTIONS
        assert is_held_out(recipe) and is_held_out(", ".join(reversed(recipe.portions)))
    assert not is_held_out(PLAIN)
    assert not is_held_out("tomato_sauce, mozzarella, pineapple")  # a part of a held-out recipe is not held out


def test_unknown_ingredient_raises_naming_it(kitchen):
    vocabulary = Vocabulary.from_ids(list(DEFAULT_VOCABULARY.ids) + ["anchovies"])
    custom = Kitchen(vocabulary)
    assert pixels(custom.render("tomato_sauce, mozzarella, olives", seed=0)).shape == (64, 64, 3)
    with pytest.raises(ValueError, match="anchovies"):
        custom.render("tomato_sauce, mozzarella, anchovies", seed=0)
    with pytest.raises(ValueError, match="unknown ingredient"):
        kitchen.render("tomato_sauce, anchovies", seed=0)


def test_every_topping_has_a_drawing():
    toppings = {i.id for i in DEFAULT_VOCABULARY if i.kind == "topping"}
    assert toppings == set(TOPPINGS)


def test_render_batch_matches_render(kitchen):
    recipes = ["tomato_sauce, mozzarella, ham", "cheese_sauce, mozzarella, chicken"]
    batch = kitchen.render_batch(recipes, [4, 5], size=32)
    assert batch.shape == (2, 32, 32, 3) and batch.dtype == np.uint8
    assert np.array_equal(batch[1], np.asarray(kitchen.render(recipes[1], 5, 32)))


def test_layers_composite_to_exactly_the_render(kitchen):
    recipe = "tomato_sauce, mozzarella, pepperoni, mushrooms, olives, oregano, bbq_sauce"
    layers = kitchen.render_layers(recipe, seed=5, size=64)
    assert np.array_equal(pixels(layers.image()), pixels(kitchen.render(recipe, seed=5, size=64)))
    assert [i for i, _ in layers.layers] == ["pepperoni", "mushrooms", "olives", "oregano", "bbq_sauce"]


def test_layers_are_premultiplied_rgba(kitchen):
    layers = kitchen.render_layers("tomato_sauce, mozzarella, ham", seed=1, size=64)
    (_, ham), = layers.layers
    assert ham.shape == (64, 64, 4) and 0 <= ham[..., 3].min() and ham[..., 3].max() == 1
    assert np.all(ham[..., :3] <= 255 * ham[..., 3:] + 1e-3)  # no colour where nothing is drawn
    assert len(layers.pieces["ham"].xy) == int((ham[..., 3] > 0).any()) * len(layers.pieces["ham"].size)


def test_a_topping_leaves_the_base_and_light_as_they_were(kitchen):
    plain = kitchen.render_layers(PLAIN + ", olives", seed=3, size=64)
    more = kitchen.render_layers(PLAIN + ", olives, ham", seed=3, size=64)
    assert np.array_equal(plain.base, more.base) and plain.geometry == more.geometry
    assert np.array_equal(plain.light.gain, more.light.gain)

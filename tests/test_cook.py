"""How it's made: a layered pizza's steps from the model's own base and layers, ending on the very
pizza of the sheet."""

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from pizza_models.app.cook import has_layers, making, shows
from pizza_models.families.gan import GANConfig, Generator
from pizza_models.families.layered import LayeredConfig, LayeredPizza
from pizza_models.pipeline import generate, load

TINY = LayeredConfig(image_size=32, pieces=("ham", "pepperoni", "olives"), strokes=("bbq_sauce",), channels=8,
                     sprite_size=8, max_pieces=32)
PEPPERONI = ["tomato_sauce", "mozzarella", "olives", "pepperoni", "bbq_sauce"]
ROOT = Path(__file__).resolve().parents[1]


def tiny(base_reads_recipe: bool = True) -> LayeredPizza:
    """A tiny layered model with opaque sprites; its base follows the recipe when ``base_reads_recipe``
    (an untrained base ignores it: its conditioning starts at zero)."""
    torch.manual_seed(0)
    model = LayeredPizza(TINY).eval()
    with torch.no_grad():
        model.sprites[:, 3] = 3.0
        model.templates[:, :, :, 3] = 0.0  # drizzles half-opaque
        for film in model.base.films if base_reads_recipe else ():
            nn.init.normal_(film.linear.weight, std=2.0)
        if base_reads_recipe:  # each base ingredient, read alone, moves it visibly
            nn.init.normal_(model.base.embed[0].weight, std=1.0)
    return model


@pytest.fixture(scope="module")
def model() -> LayeredPizza:
    return tiny()


def names(steps) -> list[str]:
    return [step.name for step in steps]


def test_the_steps_go_dough_sauce_cheese_then_toppings_in_drawing_order_then_drizzles(model):
    assert names(making(model, PEPPERONI)) == ["Dough", "Tomato sauce", "Mozzarella", "Pepperoni", "Black olives",
                                              "BBQ sauce"]


@pytest.mark.parametrize("index", [0, 1, 2])
def test_the_last_step_is_the_sheets_pizza_pixel_for_pixel(model, index):
    sheet = generate(model, [PEPPERONI], n=3, seed=5, noise=1.0)
    steps = making(model, PEPPERONI, n=3, index=index, seed=5, noise=1.0)
    assert steps[-1].image.tobytes() == sheet[index].tobytes()


def test_a_model_with_crusts_makes_its_pizza_on_its_crust_from_the_dough_on():
    model = LayeredPizza(replace(TINY, crusts=("first", "second"))).eval()
    with torch.no_grad():
        model.crust.pictures.copy_(torch.tensor([0.2, 0.6, 0.3])[None, :, None, None].expand(2, 3, 32, 32))  # a green crust
    steps = making(model, PEPPERONI, n=2, index=1, seed=5, noise=1.0)
    assert steps[-1].image.tobytes() == generate(model, [PEPPERONI], n=2, seed=5, noise=1.0)[1].tobytes()
    # On the rim the base step already shows the crust, as the pizza does.
    for step in (steps[0], steps[-1]):
        assert max(abs(a - b) for a, b in zip(step.image.getpixel((1, 16)), (51, 153, 77))) <= 2


def test_every_step_changes_the_picture(model):
    steps = making(model, PEPPERONI, seed=1)
    assert all(before.image.tobytes() != after.image.tobytes() for before, after in zip(steps, steps[1:]))


def test_a_change_shows_when_enough_pixels_move_far_enough():
    before = Image.new("RGB", (10, 10), (100, 100, 100))
    after = before.copy()
    after.paste((100, 100, 130), (0, 0, 10, 1))  # 10% of the pixels, by 30 levels
    assert shows(before, after)
    after.paste((100, 100, 110), (0, 0, 10, 10))  # every pixel, by 10 levels: a tint, not a step
    assert not shows(before, after)


def test_a_double_portion_is_named_so(model):
    assert names(making(model, ["tomato_sauce", "mozzarella", "ham", "ham"]))[-1] == "Ham (double)"


def test_without_sauce_or_cheese_the_dough_is_the_base(model):
    assert names(making(model, ["ham"])) == ["Dough", "Ham"]


def test_a_base_that_ignores_the_recipe_is_one_step_not_three_identical_pictures():
    steps = making(tiny(base_reads_recipe=False), ["tomato_sauce", "mozzarella", "ham"])
    assert names(steps) == ["Dough + Tomato sauce + Mozzarella", "Ham"]


def test_the_making_is_the_same_for_the_same_seed(model):
    first, again = making(model, PEPPERONI, seed=3), making(model, PEPPERONI, seed=3)
    assert [step.image.tobytes() for step in first] == [step.image.tobytes() for step in again]


def test_a_model_without_layers_says_so():
    gan = Generator(GANConfig.modern(image_size=32, latent_dim=16, g_channels=4, d_channels=4)).eval()
    assert not has_layers(gan)
    with pytest.raises(ValueError, match="'sketcher' model draws each pizza in one go, with no layers"):
        making(gan, PEPPERONI, name="sketcher")


@pytest.mark.parametrize("index, message", [(3, "the pizza's index must be between 0 and 2, not 3"),
                                            (1.5, "the pizza's index must be a whole number, not 1.5")])
def test_an_index_off_the_sheet_is_refused(model, index, message):
    with pytest.raises(ValueError, match=message):
        making(model, PEPPERONI, n=3, index=index)


def test_an_unknown_ingredient_is_refused_as_generate_refuses_it(model):
    with pytest.raises(ValueError, match="unknown ingredient 'peperoni'"):
        making(model, ["tomato_sauce", "peperoni"])


@pytest.mark.parametrize("folder, first", [("checkpoints/layered", "Dough"), ("checkpoints/painted", "Dough + Tomato sauce + Mozzarella")])
def test_the_shipped_layered_models_show_how_the_sheets_pizza_is_made(folder, first, one_thread):
    """The clip-art model's base follows its sauce and cheese; the photo-painted one paints crust, sauce
    and cheese at once, so its base is one step."""
    model = load(ROOT / folder)
    recipe = ["tomato_sauce", "mozzarella", "pepperoni", "mushrooms", "bbq_sauce"]
    steps = making(model, recipe, n=4, index=2, seed=11, noise=1.0)
    assert names(steps)[0] == first and names(steps)[-3:] == ["Pepperoni", "Mushrooms", "BBQ sauce"]
    assert steps[-1].image.tobytes() == generate(model, [recipe], n=4, seed=11, noise=1.0)[2].tobytes()

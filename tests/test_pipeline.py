"""Inference pipeline: loading any family, reproducible generation, restyling, recipe guessing."""

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from pizza_models.families.classifier import ClassifierConfig, IngredientClassifier
from pizza_models.families.cvae import CVAE, CVAEConfig
from pizza_models.data import kitchen_recipes
from pizza_models.evaluation.evaluate import recipe_f1
from pizza_models.families.gan import GANConfig, Generator
from pizza_models.framing import crop_to_disc
from pizza_models.hub import CheckpointError, save_checkpoint
from pizza_models.kitchen.procedural import Kitchen
from pizza_models.pipeline import (
    clamp, distinct_drawers, fade_repeats, generate, guess_recipe, ingredient_probabilities, interpolate, load,
    load_shelf, load_shelves, read_photo, restyle,
    sheet, single_ingredient_menu,
)
from pizza_models.menu import MENU
from pizza_models.recipe import Recipe, counts, parse_recipe

JUDGE = Path(__file__).resolve().parents[1] / "checkpoints" / "judge"
PEPPERONI = "tomato_sauce; pepperoni; mozzarella"
HAM = "tomato_sauce; ham; mozzarella"


@pytest.fixture(scope="module")
def cvae() -> CVAE:
    torch.manual_seed(0)
    return CVAE(CVAEConfig.modern(image_size=32, channels=8)).eval()


def same(a, b) -> bool:
    return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b))


def test_a_sheet_lays_pictures_in_rows_with_white_gaps():
    pictures = [Image.new("RGB", (8, 8), (i * 40, 0, 0)) for i in range(6)]
    page = sheet(pictures, columns=4, gap=2)
    assert page.size == (4 * 8 + 3 * 2, 2 * 8 + 2)
    assert page.getpixel((10, 0)) == (40, 0, 0) and page.getpixel((8, 0)) == (255, 255, 255)  # second picture, gap
    assert page.getpixel((10, 10)) == (200, 0, 0)  # the sixth starts the second row
    assert sheet(pictures[:3], columns=4).size == (3 * 8 + 2 * 2, 8)  # fewer pictures than columns: one short row


def test_a_sheet_refuses_pictures_of_different_sizes():
    with pytest.raises(ValueError, match="share one size"):
        sheet([Image.new("RGB", (8, 8)), Image.new("RGB", (4, 4))])


def test_generate_gives_n_images_per_recipe_at_the_model_size(cvae):
    images = generate(cvae, [PEPPERONI, HAM], n=3)
    assert len(images) == 6 and {im.size for im in images} == {(32, 32)}


def test_generate_is_reproducible_for_a_seed(cvae):
    assert same(generate(cvae, [PEPPERONI], n=2, seed=5), generate(cvae, [PEPPERONI], n=2, seed=5))
    assert not same(generate(cvae, [PEPPERONI], seed=5), generate(cvae, [PEPPERONI], seed=6))


def test_noise_zero_gives_the_same_typical_pizza_for_any_seed(cvae):
    assert same(generate(cvae, [PEPPERONI], seed=1, noise=0), generate(cvae, [PEPPERONI], seed=2, noise=0))


def test_generate_works_for_a_gan_generator():
    generator = Generator(GANConfig.modern(image_size=32, g_channels=8, d_channels=8)).eval()
    assert generate(generator, [HAM], n=2)[0].size == (32, 32)


def test_generate_rejects_a_bad_recipe_with_its_message(cvae):
    with pytest.raises(ValueError, match="did you mean 'Pepperoni'"):
        generate(cvae, ["tomato_sauce; peperoni"])


def test_restyle_returns_reconstruction_and_result_at_the_model_size(cvae):
    photo = Kitchen().render(PEPPERONI, seed=0, size=200)
    reconstruction, result = restyle(cvae, photo, PEPPERONI, HAM)
    assert reconstruction.size == result.size == (32, 32)


def test_restyle_needs_an_encoder():
    generator = Generator(GANConfig.modern(image_size=32, g_channels=8, d_channels=8)).eval()
    with pytest.raises(ValueError, match="encoder"):
        restyle(generator, Kitchen().render(HAM, 0, 32), HAM, PEPPERONI)


def test_guess_recipe_keeps_the_nine_likeliest_ingredients_over_the_threshold():
    classifier = IngredientClassifier(ClassifierConfig(image_size=32, channels=8)).eval()
    photo = Kitchen().render(HAM, 0, 64)
    probabilities = ingredient_probabilities(classifier, photo)
    likeliest = sorted(probabilities, key=probabilities.get, reverse=True)[:9]
    assert sorted(guess_recipe(classifier, photo, threshold=0.0).portions) == sorted(likeliest)
    assert isinstance(guess_recipe(classifier, photo, threshold=1.01), Recipe)
    assert guess_recipe(classifier, photo, threshold=1.01).portions == ()


def test_load_dispatches_on_the_family(cvae, tmp_path):
    save_checkpoint(cvae, tmp_path)
    assert isinstance(load(tmp_path), CVAE)


def test_load_names_a_missing_config(tmp_path):
    with pytest.raises(CheckpointError, match="config.json: missing"):
        load(tmp_path)


def test_shipped_judge_reads_kitchen_pizzas():
    judge = load(JUDGE)
    kitchen = Kitchen()
    recipes = [parse_recipe(r) for r in (PEPPERONI, HAM, "tomato_sauce; mozzarella; olives; bell_pepper")]
    guessed = [guess_recipe(judge, kitchen.render(r, seed=10**12 + i, size=64)) for i, r in enumerate(recipes)]
    assert sum(g == r for g, r in zip(guessed, recipes)) >= 2


def test_shipped_classifier_guesses_fresh_kitchen_recipes_with_micro_f1_over_0_8():
    classifier, kitchen = load(JUDGE), Kitchen()
    recipes = kitchen_recipes(64, seed=424242)
    guesses = [guess_recipe(classifier, kitchen.render(r, seed=10**13 + i, size=64)) for i, r in enumerate(recipes)]
    truth, guessed = (torch.stack([counts(r) > 0 for r in rs]) for rs in (recipes, guesses))
    assert recipe_f1(guessed, truth)["micro_f1"] >= 0.8


def test_interpolation_starts_and_ends_at_the_two_recipes(cvae):
    strip = interpolate(cvae, PEPPERONI, HAM, steps=5, seed=3)
    assert len(strip) == 5
    assert same(strip[:1], generate(cvae, [PEPPERONI], seed=3)) and same(strip[-1:], generate(cvae, [HAM], seed=3))


def test_single_ingredient_menu_has_one_named_pizza_per_ingredient(cvae):
    menu = single_ingredient_menu(cvae)
    assert len(menu) == 28 and menu[6][1] == "Pepperoni" and menu[0][0].size == (32, 32)


def test_crop_to_disc_frames_the_pizza_like_the_real_photos():
    pizza = Kitchen().render(PEPPERONI, seed=0, size=100)
    photo = Image.new("RGB", (400, 300), (250, 250, 250))
    photo.paste(pizza, (260, 150))
    crop = crop_to_disc(photo)
    assert crop.width == crop.height and 85 <= crop.width <= 110


def test_read_photo_downscales_a_large_photo_and_reports_its_size():
    buffer = io.BytesIO()
    Image.new("RGB", (3000, 2000), (180, 90, 40)).save(buffer, "PNG")
    photo, size = read_photo(buffer.getvalue(), "big.png")
    assert size == (3000, 2000) and photo.size == (1024, 683)


def test_load_shelf_loads_every_checkpoint_folder_by_name(cvae, tmp_path):
    save_checkpoint(cvae, tmp_path / "mine")
    (tmp_path / "notes").mkdir()
    assert list(load_shelf(tmp_path)) == ["mine"]


def test_load_shelves_adds_a_run_folder_beside_a_folder_of_checkpoints(cvae, tmp_path):
    """``python app.py --checkpoints runs/NAME``: the shipped models stay, the run joins them under its
    folder's name; a run named like a shipped model is listed under its path, one folder only once."""
    for folder in ("shipped/cvae", "runs/cvae", "runs/cvae-modern-32"):
        save_checkpoint(cvae, tmp_path / folder)
    shelf = load_shelves([tmp_path / "shipped", tmp_path / "runs" / "cvae-modern-32", tmp_path / "runs"])
    assert list(shelf) == ["cvae", "cvae-modern-32", str(tmp_path / "runs" / "cvae")]
    with pytest.raises(CheckpointError, match="no checkpoint folders"):
        load_shelves([tmp_path / "shipped", tmp_path / "empty"])


def test_a_menu_grid_is_kept_per_model_seed_and_noise(cvae, monkeypatch):
    first = single_ingredient_menu(cvae, seed=3, noise=0.5)
    monkeypatch.setattr("pizza_models.pipeline.generate", lambda *a, **k: pytest.fail("drawn again"))
    again = single_ingredient_menu(cvae, seed=3, noise=0.5)
    assert [image for image, _ in again] == [image for image, _ in first] and len(first) == 28
    assert all(a is b for (a, _), (b, _) in zip(first, again))  # the same pictures, no model call
    with pytest.raises(pytest.fail.Exception, match="drawn again"):
        single_ingredient_menu(cvae, seed=4, noise=0.5)  # another seed: drawn


def test_distinct_drawers_lists_a_model_drawing_the_same_pictures_once(cvae):
    torch.manual_seed(1)
    other = CVAE(CVAEConfig.modern(image_size=32, channels=8)).eval()
    shelf = {"a": cvae, "twin": cvae, "b": other}
    assert distinct_drawers(shelf, ["a", "twin", "b"]) == ["a", "b"]
    assert distinct_drawers(shelf, ["twin", "b", "a"]) == ["twin", "b"]


def test_clamp_brings_a_typed_number_into_range_and_refuses_what_is_not_one():
    assert clamp(-1, "the seed", 0, 2**31 - 1, whole=True) == 0
    assert clamp(1e12, "the seed", 0, 2**31 - 1, whole=True) == 2**31 - 1
    assert clamp(5, "the latent noise", 0, 2) == 2.0 and clamp(0.3, "the latent noise", 0, 2) == 0.3
    for value in (None, "abc", float("nan"), True):
        with pytest.raises(ValueError, match="^the seed must be a number from 0 to 2147483647, not "):
            clamp(value, "the seed", 0, 2**31 - 1, whole=True)


def test_fade_repeats_turns_runs_of_one_picture_into_fades():
    a, u, b = torch.zeros(3, 2, 2), torch.ones(3, 2, 2), torch.full((3, 2, 2), 4.0)
    faded = fade_repeats(torch.stack([a, u, u, u, b]))
    assert [float(frame.mean()) for frame in faded] == [0.0, 0.5, 1.0, 2.5, 4.0]  # u at the run's middle
    distinct = torch.stack([a, u, b])
    assert torch.equal(fade_repeats(distinct), distinct) and torch.equal(fade_repeats(torch.stack([u] * 4)),
                                                                         torch.stack([u] * 4))


def test_the_layered_models_strip_changes_at_every_step():
    """Its blends were the start, six identical pizzas with both recipes' toppings, then the end."""
    model = load(Path(__file__).resolve().parents[1] / "checkpoints" / "layered")
    frames = [np.asarray(f, dtype=np.float32) for f in interpolate(model, MENU["Margherita"], MENU["Hawaiian"], 8)]
    steps = [float(np.abs(frames[i + 1] - frames[i]).mean()) for i in range(7)]
    assert min(steps) > 1.0, steps
    assert np.abs(frames[0] - np.asarray(generate(model, [MENU["Margherita"]], seed=0)[0], np.float32)).max() <= 1

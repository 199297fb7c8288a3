"""Inference pipeline: loading any family, reproducible generation, restyling, recipe guessing."""

from pathlib import Path

import numpy as np
import pytest
import torch

from pizza_models.classifier import ClassifierConfig, IngredientClassifier
from pizza_models.cvae import CVAE, CVAEConfig
from pizza_models.gan import GANConfig, Generator
from pizza_models.hub import CheckpointError, save_checkpoint
from pizza_models.kitchen import Kitchen
from pizza_models.pipeline import generate, guess_recipe, load, restyle
from pizza_models.recipe import Recipe, parse_recipe

JUDGE = Path(__file__).resolve().parents[1] / "checkpoints" / "judge"
PEPPERONI = "tomato_sauce; pepperoni; mozzarella"
HAM = "tomato_sauce; ham; mozzarella"


@pytest.fixture(scope="module")
def cvae() -> CVAE:
    torch.manual_seed(0)
    return CVAE(CVAEConfig.modern(image_size=32, channels=8)).eval()


def same(a, b) -> bool:
    return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in zip(a, b))


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
    with pytest.raises(ValueError, match="did you mean 'pepperoni'"):
        generate(cvae, ["tomato_sauce; peperoni"])


def test_restyle_returns_reconstruction_and_result_at_the_model_size(cvae):
    photo = Kitchen().render(PEPPERONI, seed=0, size=200)
    reconstruction, result = restyle(cvae, photo, PEPPERONI, HAM)
    assert reconstruction.size == result.size == (32, 32)


def test_restyle_needs_an_encoder():
    generator = Generator(GANConfig.modern(image_size=32, g_channels=8, d_channels=8)).eval()
    with pytest.raises(ValueError, match="encoder"):
        restyle(generator, Kitchen().render(HAM, 0, 32), HAM, PEPPERONI)


def test_guess_recipe_returns_a_recipe():
    classifier = IngredientClassifier(ClassifierConfig(image_size=32, channels=8)).eval()
    assert isinstance(guess_recipe(classifier, Kitchen().render(HAM, 0, 64)), Recipe)


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

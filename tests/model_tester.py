"""What every model family that draws must do, as tests a family's test class inherits (as diffusers'
``ModelTesterMixin``): ``tests/test_families.py`` has one class per family, and a test there fails
when a drawing family has none.

A subclass names its ``family``, builds a tiny model (``tiny_model``) and gives the options of a tiny
``python -m train`` run of it (``train_args``).
"""

import numpy as np
import pytest
import torch

from pizza_models.hub import PizzaModel, save_checkpoint
from pizza_models.pipeline import generate, load
from pizza_models.recipe import encode, parse_recipe
from pizza_models.registry import model_classes
from train.__main__ import main

RECIPES = ["tomato_sauce, mozzarella, pepperoni, olives", "cheese_sauce, ham, pineapple, pineapple, bbq_sauce"]
TINY_RUN = ["--size", "32", "--channels", "8", "--kitchen-pizzas", "8", "--batch-size", "4", "--steps", "2",
            "--sample-every", "1", "--no-progress"]


class DrawingModelTester:
    """Tests every drawing family passes: registration, shape and range, determinism for a seed, a
    strict save/load round trip (float32 and float16), and a tiny training run through the CLI."""

    family: str = ""
    train_args: tuple[str, ...] = ()  # a tiny run's options beside TINY_RUN

    def tiny_model(self) -> PizzaModel:
        raise NotImplementedError

    @pytest.fixture
    def model(self) -> PizzaModel:
        torch.manual_seed(0)
        return self.tiny_model().eval()

    @staticmethod
    def codes(model: PizzaModel, n: int = 2) -> torch.Tensor:
        """(n, C) codes of the test recipes in the model's own encoding."""
        config = model.config
        return torch.stack([encode(parse_recipe(RECIPES[i % 2], config.vocabulary), config.encoding, config.vocabulary)
                            for i in range(n)])

    def test_the_family_registers_its_class_and_it_draws(self, model):
        assert model.family == self.family and model_classes()[self.family] is type(model) and model.draws

    def test_draw_gives_pictures_of_the_models_size_in_range(self, model):
        z = model.sample_latent(3, torch.Generator().manual_seed(0))
        with torch.no_grad():
            x = model.draw(z, self.codes(model, 3))
        side = model.config.image_size
        assert x.shape == (3, 3, side, side) and torch.isfinite(x).all() and x.min() >= -1 and x.max() <= 1

    def test_a_seed_draws_the_same_pizzas_and_another_seed_others(self, model):
        one, again = (np.stack([np.asarray(p) for p in generate(model, RECIPES, n=2, seed=3)]) for _ in range(2))
        other = np.stack([np.asarray(p) for p in generate(model, RECIPES, n=2, seed=4)])
        assert np.array_equal(one, again)
        assert not np.array_equal(one, other)

    @pytest.mark.parametrize("half", [False, True], ids=["float32", "float16"])
    def test_save_and_load_round_trip(self, model, half, tmp_path):
        save_checkpoint(model, tmp_path, half=half)
        loaded = load(tmp_path)
        assert type(loaded) is type(model) and loaded.config == model.config
        assert loaded.state_dict().keys() == model.state_dict().keys()
        z, codes = model.sample_latent(2, torch.Generator().manual_seed(1)), self.codes(model)
        with torch.no_grad():
            assert torch.allclose(loaded.draw(z, codes), model.draw(z, codes), atol=2e-2 if half else 1e-5)

    def test_a_tiny_training_run_exports_a_model_that_draws(self, tmp_path):
        assert main([self.family, *TINY_RUN, *self.train_args, "--out", str(tmp_path)]) == 0
        trained = load(tmp_path)
        assert trained.family == self.family and (tmp_path / "samples.png").is_file()
        pizzas = generate(trained, RECIPES, n=1, seed=0)
        assert [p.size for p in pizzas] == [(32, 32)] * 2

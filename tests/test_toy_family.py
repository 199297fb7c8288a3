"""A new family is one model module and one ``train/<family>.py``: here both live in this test file,
register themselves, and the CLI trains the family, the pipeline loads it and draws with it, with
nothing else edited. The registries are restored after each test."""

from dataclasses import dataclass
from typing import Iterator, Optional

import numpy as np
import pytest
import torch
from torch import nn

from pizza_models import hub
from pizza_models.hub import PizzaModel
from pizza_models.pipeline import generate, load
from pizza_models.recipe import DEFAULT_VOCABULARY, RecipeConditioned, Vocabulary
from pizza_models.registry import model_classes
from train import common
from train.__main__ import build_parser, main
from train.common import Batch, Setup, Trainer, Update, adam, register
from train.hyper import Hyper, knob
from train.registry import hyper, trainers

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def toy(monkeypatch) -> type:
    """The toy family's model class, registered (with its trainer) for one test."""
    # The package's own families first (their modules register once), then copies of the registries
    # for this test: what registers here is gone after it.
    monkeypatch.setattr(hub, "_MODEL_CLASSES", model_classes())
    monkeypatch.setattr(common, "_TRAINERS", trainers())

    @dataclass(frozen=True)
    class ToyConfig(RecipeConditioned):
        family: str = "toy"
        image_size: int = 32
        encoding: str = "counts"
        ingredients: tuple[str, ...] = DEFAULT_VOCABULARY.ids

        def __post_init__(self) -> None:
            self._check_recipe_fields()

    class ToyPizza(PizzaModel):
        """A pizza of one colour: (noise (B, 3), counts (B, V)) -> the colour, filling the picture."""

        family = "toy"
        draws = True

        def __init__(self, config: ToyConfig):
            super().__init__()
            self.colour = nn.Linear(len(config.ingredients) + 3, 3)

        def sample_latent(self, n: int, generator: Optional[torch.Generator] = None, scale: float = 1.0, device=None):
            return (torch.randn(n, 3, generator=generator) * scale).to(device or "cpu")

        def draw(self, z: torch.Tensor, codes: torch.Tensor) -> torch.Tensor:
            side = self.config.image_size
            return torch.tanh(self.colour(torch.cat([codes, z], 1)))[:, :, None, None].expand(-1, -1, side, side)

    @dataclass(frozen=True, kw_only=True)
    class ToyHyper(Hyper):
        noise_weight: float = knob(0.0, "toy: weight of the noise in the colour (0: the recipe's colour alone)")

    def toy_step(nets: dict, batch: Batch, hp: ToyHyper) -> Iterator[Update]:
        model = nets["toy"]
        drawn = model.draw(hp.noise_weight * model.sample_latent(len(batch.x)), batch.code)
        loss = (drawn - batch.x).pow(2).mean()  # the mean colour of each recipe's pizzas
        yield Update("toy", loss, {"loss": loss})

    def build_toy(hp: ToyHyper, vocabulary: Vocabulary, resumed: Optional[dict] = None) -> Setup:
        nets = {"toy": ToyPizza(ToyConfig(image_size=hp.image_size, ingredients=vocabulary.ids))}
        return Setup(nets, adam(hp, nets, {"toy": hp.lr}), toy_step, lambda: nets["toy"])

    register(Trainer("toy", ToyHyper, {"modern": dict(lr=1e-2, batch_size=4)}, build_toy))
    return ToyPizza


def test_a_family_from_a_test_file_trains_loads_and_draws(toy, tmp_path):
    assert model_classes()["toy"] is toy and "toy" in trainers()
    assert "toy" in build_parser().format_help() and "--noise-weight" in build_parser().format_help()
    assert main(["toy", "--size", "32", "--kitchen-pizzas", "8", "--steps", "20", "--no-progress", "--out", str(tmp_path)]) == 0
    losses = np.loadtxt(tmp_path / "losses.csv", delimiter=",", skiprows=1)[:, 1]
    assert losses[-5:].mean() < losses[:5].mean()
    model = load(tmp_path)
    assert type(model) is toy and (tmp_path / "samples.png").is_file()
    assert [p.size for p in generate(model, ["tomato_sauce, mozzarella"], n=2, seed=0)] == [(32, 32)] * 2


def test_an_option_of_another_family_is_refused_by_name(toy, tmp_path):
    with pytest.raises(ValueError, match="--loss: no such option for the toy family"):
        hyper("toy", "modern", loss="bce")
    with pytest.raises(SystemExit, match="--noise-weight: no such option for the gan family"):
        main(["gan", "--noise-weight", "1", "--steps", "1", "--out", str(tmp_path)])


def test_the_registries_forget_the_toy_family_after_its_tests():
    assert "toy" not in model_classes() and "toy" not in trainers()

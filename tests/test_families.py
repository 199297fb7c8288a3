"""Every model family that draws passes the shared tester (``tests/model_tester.py``)."""

from dataclasses import replace

import pytest
import torch

from pizza_models.families.cvae import CVAE, CVAEGAN, CVAEConfig
from pizza_models.families.gan import GANConfig, Generator
from pizza_models.kitchen.procedural import Kitchen
from pizza_models.families.layered import LayeredConfig, LayeredPizza
from pizza_models.registry import model_classes

from model_tester import DrawingModelTester

pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py: tiny networks run on one thread


class TestLayered(DrawingModelTester):
    family = "layered"

    def tiny_model(self):
        pieces, strokes = Kitchen().drawing_order()
        model = LayeredPizza(LayeredConfig(image_size=32, pieces=pieces, strokes=strokes, channels=8, sprite_size=8,
                                           max_pieces=32))
        with torch.no_grad():  # visible pieces and strokes, so that the noise shows in the pictures
            model.sprites[:, 3] = 3.0
            model.templates[:, :, :, 3] = 3.0
        return model


class TestGAN(DrawingModelTester):
    family = "gan"

    def tiny_model(self):
        return Generator(GANConfig.modern(32, g_channels=8, d_channels=8))


class TestCVAE(DrawingModelTester):
    family = "cvae"

    def tiny_model(self):
        return CVAE(CVAEConfig.modern(32, latent_dim=16, channels=8))


class TestCVAEGAN(DrawingModelTester):
    family = "cvaegan"

    def tiny_model(self):
        return CVAEGAN(replace(CVAEConfig.modern(32, latent_dim=16, channels=8), family="cvaegan", training="cvaegan"))


def test_every_drawing_family_has_a_tester():
    tested = {cls.family for cls in DrawingModelTester.__subclasses__()}
    drawing = {family for family, cls in model_classes().items() if cls.draws}
    assert drawing <= tested, f"no tester for {drawing - tested}: add a DrawingModelTester subclass here"

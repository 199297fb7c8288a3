"""Networks: the article's models' exact sizes, shapes and ranges, conditioning, checkpoints, latents."""

import dataclasses
import json

import pytest
import safetensors.torch
import torch
from torch.nn.utils import parametrize

from pizza_models import hub
from pizza_models.families.classifier import ClassifierConfig, IngredientClassifier
from pizza_models.families.cvae import CVAE, CVAEConfig
from pizza_models.families.gan import Discriminator, GANConfig, Generator
from pizza_models.families.blocks import DBlock, PatchCritic, count_parameters
from pizza_models.recipe import encode

RECIPES = (["tomato_sauce", "mozzarella", "pepperoni", "pepperoni"], ["cheese_sauce", "mozzarella", "pineapple", "ham"])


def conditions(config, n: int = 2) -> torch.Tensor:
    """(n, cond_dim) encoded recipes, alternating the two test recipes."""
    return torch.stack([encode(RECIPES[i % 2], config.encoding, config.vocabulary) for i in range(n)])


def images(n: int, size: int) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(0)) * 2 - 1


def tiny_gan(size: int) -> GANConfig:
    return GANConfig.modern(image_size=size, latent_dim=16, g_channels=4, d_channels=4)


def tiny_cvae(size: int) -> CVAEConfig:
    return CVAEConfig.modern(image_size=size, latent_dim=16, channels=4)


@pytest.mark.parametrize("method, expected", [(1, 4_221_987), (2, 3_954_867)])
def test_article_cvae_has_the_original_parameter_count(method, expected):
    assert count_parameters(CVAE(CVAEConfig.article(method))) == expected


@pytest.mark.parametrize("method", [1, 2])
@pytest.mark.parametrize("size", [32, 64])
def test_article_cvae_shapes_and_range(method, size):
    config = CVAEConfig.article(method, image_size=size)
    model, x, cond = CVAE(config), images(2, size), conditions(config)
    recon, mu, logvar = model(x, cond)
    assert recon.shape == x.shape and mu.shape == logvar.shape == (2, 512)
    assert recon.min() >= -1 and recon.max() <= 1


@pytest.mark.parametrize("size", [32, 64])
def test_modern_cvae_shapes_and_range(size):
    config = tiny_cvae(size)
    model, x, cond = CVAE(config), images(2, size), conditions(config)
    recon, mu, logvar = model(x, cond)
    assert recon.shape == x.shape and mu.shape == logvar.shape == (2, 16)
    assert recon.min() >= -1 and recon.max() <= 1


@pytest.mark.parametrize("size", [32, 64])
def test_article_generator_shapes_and_ignores_condition(size):
    model = Generator(GANConfig.article(image_size=size)).eval()
    z = model.sample_latent(2, torch.Generator().manual_seed(0))
    out = model(z, conditions(model.config))
    assert out.shape == (2, 3, size, size) and out.min() >= -1 and out.max() <= 1
    assert torch.equal(out, model(z)) and torch.equal(out, model(z, torch.zeros_like(conditions(model.config))))


@pytest.mark.parametrize("size", [32, 64, 128])
def test_modern_generator_shapes_and_range(size):
    model = Generator(tiny_gan(size))
    out = model(model.sample_latent(2), conditions(model.config))
    assert out.shape == (2, 3, size, size) and out.min() >= -1 and out.max() <= 1


def test_modern_generator_depends_on_condition():
    model = Generator(tiny_gan(32)).eval()
    z = model.sample_latent(1).repeat(2, 1)
    out = model(z, conditions(model.config))
    assert not torch.allclose(out[0], out[1])


def test_bilinear_upsampling_smooths_the_same_weights_without_a_new_parameter():
    torch.manual_seed(0)  # about 1 random 4-channel generator in 60 draws the same picture both ways
    nearest = Generator(tiny_gan(32)).eval()
    bilinear = Generator(dataclasses.replace(tiny_gan(32), upsample="bilinear")).eval()
    bilinear.load_state_dict(nearest.state_dict(), strict=True)  # a nearest checkpoint fine-tunes into it
    z = nearest.sample_latent(2, torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert not torch.allclose(nearest(z, conditions(nearest.config)), bilinear(z, conditions(nearest.config)))


@pytest.mark.parametrize("cls", [GANConfig, CVAEConfig])
def test_unknown_upsampling_is_refused(cls):
    with pytest.raises(ValueError, match="unknown upsampling 'bicubic'"):
        cls(upsample="bicubic")


def test_a_config_json_from_before_upsampling_loads_as_nearest(tmp_path):
    hub.save_checkpoint(Generator(tiny_gan(32)), tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    del config["upsample"]
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert Generator.from_pretrained(tmp_path).config.upsample == "nearest"


def test_a_blurring_down_block_halves_with_the_1_3_3_1_filter():
    block = DBlock(1, 1, sn=False, blur=True)
    impulse = torch.zeros(1, 1, 8, 8)
    impulse[0, 0, 3, 3] = 1
    taps = torch.tensor([3.0, 1.0]) / 8  # input row 3 reaches output rows 1 and 2 with weights 3/8 and 1/8
    assert torch.allclose(block.down(impulse)[0, 0, 1:3, 1:3], taps[:, None] * taps[None, :])
    assert block.down(torch.ones(1, 1, 8, 8)).shape[-1] == 4 and torch.allclose(block.down(torch.ones(1, 1, 8, 8)), torch.ones(1))


def test_a_blurring_critic_has_the_same_weights_as_a_boxing_one():
    torch.manual_seed(0)
    box, blur = PatchCritic(8), PatchCritic(8, blur=True)
    blur.load_state_dict(box.state_dict(), strict=True)  # a run's critic resumes either way
    x = torch.randn(2, 3, 32, 32)
    assert blur(x).shape == box(x).shape == (2, 1, 4, 4) and not torch.allclose(blur(x), box(x))


def test_a_blurring_critic_runs_under_bfloat16_autocast():
    with torch.autocast("cpu", dtype=torch.bfloat16):  # the layered runs' --half
        logits = PatchCritic(8, blur=True)(torch.randn(2, 3, 32, 32))
    assert logits.dtype == torch.bfloat16 and torch.isfinite(logits.float()).all()


@pytest.mark.parametrize("config", [GANConfig.article(image_size=32), tiny_gan(32), tiny_gan(64)], ids=["article", "modern32", "modern64"])
def test_discriminator_returns_logits_and_features(config):
    logits, features = Discriminator(config)(images(3, config.image_size), conditions(config, 3))
    assert logits.shape == (3,) and features.ndim == 2 and features.shape[0] == 3


def test_projection_term_changes_logits_with_condition():
    model = Discriminator(tiny_gan(32)).eval()
    x = images(1, 32).repeat(2, 1, 1, 1)
    logits, features = model(x, conditions(model.config))
    assert torch.equal(features[0], features[1]) and logits[0] != logits[1]


def test_spectral_norm_uses_the_parametrization_api():
    model = Discriminator(tiny_gan(32))
    convs = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert convs and all(parametrize.is_parametrized(m, "weight") for m in convs)
    assert not any(name.endswith("weight_orig") for name, _ in model.named_parameters())


@pytest.mark.parametrize("size", [32, 64])
def test_classifier_shapes(size):
    model = IngredientClassifier(ClassifierConfig(image_size=size, channels=4)).eval()
    x = images(2, size)
    assert model(x).shape == (2, 28) and model.features(x).shape == (2, 32)
    presence = model.predict(x)
    assert presence.shape == (2, 28) and presence.dtype == torch.bool


def test_classifier_is_small_at_default_width():
    assert count_parameters(IngredientClassifier(ClassifierConfig())) < 1_500_000


def _outputs(model, config):
    torch.manual_seed(0)
    if isinstance(model, CVAE):
        return model.decode(model.sample_latent(2, torch.Generator().manual_seed(1)), conditions(config))
    if isinstance(model, Generator):
        return model(model.sample_latent(2, torch.Generator().manual_seed(1)), conditions(config))
    return model(images(2, config.image_size))


ROUND_TRIP = [
    (CVAE, tiny_cvae(32)),
    (CVAE, CVAEConfig.article(2)),
    (Generator, tiny_gan(32)),
    (Generator, dataclasses.replace(tiny_gan(32), upsample="bilinear")),
    (Generator, GANConfig.article()),
    (IngredientClassifier, ClassifierConfig(image_size=32, channels=4)),
]


@pytest.mark.parametrize("cls, config", ROUND_TRIP, ids=["cvae", "cvae-article2", "gan", "gan-bilinear", "gan-article", "classifier"])
def test_checkpoint_round_trip(cls, config, tmp_path):
    model = cls(config).eval()
    hub.save_checkpoint(model, tmp_path / "full")
    hub.save_checkpoint(model, tmp_path / "half", half=True)
    loaded, halved = cls.from_pretrained(tmp_path / "full"), cls.from_pretrained(tmp_path / "half")
    assert loaded.config == config and isinstance(loaded.config.ingredients, tuple)
    with torch.no_grad():
        expected = _outputs(model, config)
        assert torch.equal(_outputs(loaded, config), expected)
        assert torch.allclose(_outputs(halved, config), expected, atol=0.05)


def test_loading_a_generator_as_a_cvae_names_the_config(tmp_path):
    hub.save_checkpoint(Generator(tiny_gan(32)), tmp_path)
    with pytest.raises(hub.CheckpointError, match="config.json"):
        CVAE.from_pretrained(tmp_path)


def test_loading_renamed_weights_fails(tmp_path):
    hub.save_checkpoint(CVAE(tiny_cvae(32)), tmp_path)
    path = tmp_path / hub.WEIGHTS_NAME
    state = safetensors.torch.load_file(str(path))
    key = next(iter(state))
    state["renamed." + key] = state.pop(key)
    safetensors.torch.save_file(state, str(path))
    with pytest.raises(hub.CheckpointError, match="model.safetensors"):
        CVAE.from_pretrained(tmp_path)


def test_config_survives_json_lists():
    config = tiny_gan(32)
    assert GANConfig(**{**dataclasses.asdict(config), "ingredients": list(config.ingredients)}) == config


@pytest.mark.parametrize("cls, config", [(CVAE, tiny_cvae(32)), (Generator, tiny_gan(32)), (Generator, GANConfig.article())],
                         ids=["cvae", "gan", "gan-article"])
def test_sample_latent_is_reproducible_and_scale_zero_is_zero(cls, config):
    model = cls(config)
    a = model.sample_latent(3, torch.Generator().manual_seed(7))
    b = model.sample_latent(3, torch.Generator().manual_seed(7))
    assert a.shape == (3, model.config.latent_dim) and torch.equal(a, b)
    assert torch.equal(model.sample_latent(3, scale=0.0), torch.zeros(3, model.config.latent_dim))


def test_article_dcgan_noise_is_uniform_in_unit_box():
    z = Generator(GANConfig.article()).sample_latent(64, torch.Generator().manual_seed(0))
    assert z.min() >= -1 and z.max() <= 1 and z.min() < -0.9 and z.max() > 0.9


@pytest.mark.parametrize("cls, config, old", [(Generator, GANConfig.article(), {"arch": "seed"}),
                                              (CVAE, CVAEConfig.article(2), {"arch": "seed2"})], ids=["gan", "cvae"])
def test_a_config_with_the_article_networks_old_name_still_loads(cls, config, old, tmp_path):
    hub.save_checkpoint(cls(config), tmp_path)
    written = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**written, **old}))
    assert cls.from_pretrained(tmp_path).config == config

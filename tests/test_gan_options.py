"""Options of the GAN and CVAE-GAN discriminators and generators: real pizzas with a wrong recipe as
fakes for the projection D, a frozen teacher classifier (never a judge) on generated pizzas, and
the GAN's mode-seeking term."""

import csv
import json
from pathlib import Path

import pytest
import torch

from pizza_models import losses
from train.__main__ import main
from train.common import Batch
from train.gan import with_wrong_recipes
from train.loop import train_step
from train.registry import build, hyper
from pizza_models.recipe import DEFAULT_VOCABULARY

TINY = ["--size", "32", "--channels", "8", "--kitchen-pizzas", "16", "--batch-size", "4", "--no-progress"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py: tiny networks run on one thread


def columns(run: Path) -> list[str]:
    with open(run / "losses.csv", newline="") as f:
        return next(csv.reader(f))


def test_fake_batches_can_weigh_differently():
    real, fake, wrong = torch.ones(3), torch.zeros(3), torch.zeros(3)
    # hinge: relu(1 - 1) + 1 * relu(1 + 0) + 0.5 * relu(1 + 0)
    assert losses.d_hinge(real, [fake, wrong], weights=[1.0, 0.5]).item() == pytest.approx(1.5)
    assert losses.d_bce(real, [fake, wrong], weights=[1.0, 0.0]).item() == pytest.approx(losses.d_bce(real, fake).item())


def test_wrong_recipes_show_each_real_pizza_with_its_neighbours_recipe():
    hp = hyper("gan", "modern", wrong_recipe=1.0)
    x, fake = torch.zeros(3, 3, 4, 4), torch.ones(3, 3, 4, 4)
    code = torch.eye(3)
    pictures, codes = with_wrong_recipes(hp, [x, fake], [code, code])
    assert pictures.shape[0] == codes.shape[0] == 9
    assert torch.equal(pictures[6:], x) and torch.equal(codes[6:], code.roll(1, dims=0))
    assert with_wrong_recipes(hyper("gan", "modern"), [x, fake], [code, code])[0].shape[0] == 6  # off by default


@pytest.mark.parametrize("family", ["gan", "cvaegan"])
def test_a_run_trains_with_wrong_recipe_negatives(family, tmp_path):
    assert main([*TINY, family, "--wrong-recipe", "1", "--steps", "1", "--out", str(tmp_path)]) == 0


@pytest.fixture(scope="module")
def teacher(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("teacher")
    assert main([*TINY, "classifier", "--steps", "1", "--seed", "3", "--out", str(folder)]) == 0
    return folder


@pytest.mark.parametrize("family", ["gan", "cvaegan"])
def test_a_teacher_adds_its_loss_and_stays_frozen(family, teacher, tmp_path):
    assert main([*TINY, family, "--teacher", str(teacher), "--teacher-weight", "1", "--steps", "1", "--out", str(tmp_path)]) == 0
    assert "teacher" in columns(tmp_path)
    setup = build(hyper(family, "modern", 32, channels=8, teacher=str(teacher), teacher_weight=1.0), DEFAULT_VOCABULARY)
    frozen = setup.frozen["teacher"]
    assert not any(p.requires_grad for p in frozen.parameters()) and not frozen.training
    assert "teacher" not in setup.nets and "teacher" not in setup.optimizers  # neither trained nor saved


@pytest.mark.parametrize("judge", ["judge", "judge2"])
def test_a_judge_never_teaches(judge):
    folder = Path(__file__).resolve().parents[1] / "checkpoints" / judge
    with pytest.raises(ValueError, match="a judge of the evaluation must not train"):
        build(hyper("gan", "modern", teacher=str(folder), teacher_weight=1.0), DEFAULT_VOCABULARY)


def test_the_command_line_refuses_a_judge_as_teacher_with_a_message(tmp_path):
    with pytest.raises(SystemExit, match="a judge of the evaluation must not train"):
        main([*TINY, "gan", "--size", "64", "--teacher", "checkpoints/judge", "--teacher-weight", "1", "--steps", "1",
              "--out", str(tmp_path)])


def test_a_teacher_of_another_size_is_refused(teacher):
    with pytest.raises(ValueError, match="of this run's size"):
        build(hyper("gan", "modern", 64, teacher=str(teacher), teacher_weight=1.0), DEFAULT_VOCABULARY)


@pytest.mark.parametrize("family", ["gan", "cvaegan"])
def test_kitchen_runs_train_without_diffaugment_unless_asked(family):
    assert hyper(family, "modern").diffaugment == ""  # unlimited kitchen data: docs/gan_study
    assert hyper(family, "modern", diffaugment="color,translation,cutout").diffaugment == "color,translation,cutout"


@pytest.mark.parametrize("family", ["gan", "cvaegan"])
def test_an_unknown_diffaugment_is_refused_before_training(family):
    with pytest.raises(ValueError, match="--diffaugment: unknown augmentation 'blur'"):
        hyper(family, "modern", diffaugment="translation,blur")


@pytest.mark.parametrize("family", ["gan", "cvaegan"])
def test_a_run_can_upsample_bilinearly_and_its_config_says_so(family, tmp_path):
    assert main([*TINY, family, "--upsample", "bilinear", "--steps", "1", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "config.json").read_text())["upsample"] == "bilinear"


def test_mode_seeking_draws_each_recipe_of_the_g_batch_twice():
    hp = hyper("gan", "modern", 32, channels=8, mode_seeking=1.0)
    setup = build(hp, DEFAULT_VOCABULARY)
    seen = []
    setup.nets["G"].register_forward_hook(lambda module, inputs, output: seen.append(inputs[1]))
    code = torch.eye(5, len(DEFAULT_VOCABULARY.ids))  # five different recipes
    stats = train_step(setup, setup.modules(), Batch(torch.zeros(5, 3, 32, 32), code), hp, torch.device("cpu"))
    drawn = seen[-1]  # the G step's recipes (the first forward drew the D step's fakes)
    assert torch.equal(drawn, torch.cat([code[:2], code[:2], code[4:]]))
    assert stats["mode_seeking"] > 0


def test_cvaegan_mode_seeking_draws_prior_samples_in_pairs_and_reconstructs_every_recipe():
    hp = hyper("cvaegan", "modern", 32, channels=8, mode_seeking=1.0)
    setup = build(hp, DEFAULT_VOCABULARY)
    seen = []
    setup.nets["vae"].decoder.register_forward_hook(lambda module, inputs, output: seen.append(inputs[1]))
    code = torch.eye(5, len(DEFAULT_VOCABULARY.ids))
    stats = train_step(setup, setup.modules(), Batch(torch.zeros(5, 3, 32, 32), code), hp, torch.device("cpu"))
    recon_codes, prior_codes = seen[-1].chunk(2)  # one decoder pass: reconstructions, then prior samples
    assert torch.equal(recon_codes, code)
    assert torch.equal(prior_codes, torch.cat([code[:2], code[:2], code[4:]]))
    assert stats["mode_seeking"] > 0


@pytest.mark.parametrize("family", ["gan", "cvaegan"])
def test_a_run_with_mode_seeking_logs_its_term(family, tmp_path):
    assert main([*TINY, family, "--mode-seeking", "1", "--steps", "1", "--out", str(tmp_path)]) == 0
    assert "mode_seeking" in columns(tmp_path)


def test_mode_seeking_needs_pairs_in_a_batch():
    with pytest.raises(ValueError, match="batch-size 2"):
        hyper("gan", "modern", 32, mode_seeking=1.0, batch_size=1)


def test_the_sequential_cvaegan_refuses_mode_seeking():
    with pytest.raises(ValueError, match="joint"):
        build(hyper("cvaegan", "modern", 32, channels=8, mode_seeking=1.0, update_order="sequential"), DEFAULT_VOCABULARY)


def test_a_gans_generator_starts_a_cvaegans_decoder(tmp_path):
    gan, cvaegan = tmp_path / "gan", tmp_path / "cvaegan"
    assert main([*TINY, "gan", "--steps", "1", "--out", str(gan)]) == 0
    assert main([*TINY, "cvaegan", "--steps", "1", "--lr", "1e-12", "--init", str(gan), "--out", str(cvaegan)]) == 0
    generator = torch.load(gan / "training_state.pt", weights_only=True)["nets"]["G"]
    vae = torch.load(cvaegan / "training_state.pt", weights_only=True)["nets"]["vae"]
    weights = [k for k in generator if k.startswith("net.") and not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert weights and all(torch.allclose(generator[k], vae["decoder." + k[len("net."):]], atol=1e-6) for k in weights)


def test_a_gan_with_another_resize_cannot_start_a_decoder(tmp_path):
    gan = tmp_path / "gan"
    assert main([*TINY, "gan", "--upsample", "bilinear", "--steps", "1", "--out", str(gan)]) == 0
    with pytest.raises(SystemExit, match="--upsample bilinear"):
        main([*TINY, "cvaegan", "--steps", "1", "--init", str(gan), "--out", str(tmp_path / "cvaegan")])


def test_a_frozen_decoder_keeps_its_weights_and_statistics_while_the_encoder_learns(tmp_path):
    gan, cvaegan = tmp_path / "gan", tmp_path / "cvaegan"
    assert main([*TINY, "gan", "--steps", "1", "--out", str(gan)]) == 0
    assert main([*TINY, "cvaegan", "--steps", "2", "--init", str(gan), "--decoder", "frozen", "--ema", "0",
                 "--out", str(cvaegan)]) == 0
    generator = torch.load(gan / "training_state.pt", weights_only=True)["nets"]["G"]
    vae = torch.load(cvaegan / "training_state.pt", weights_only=True)["nets"]["vae"]
    decoder = {k: v for k, v in vae.items() if k.startswith("decoder.")}
    assert decoder and all(torch.equal(v, generator["net." + k[len("decoder."):]]) for k, v in decoder.items())
    # Adam has moments for the encoder's parameters alone: only they received gradients
    state = torch.load(cvaegan / "training_state.pt", weights_only=True)["optimizers"]["vae"]["state"]
    encoder = [k for k in vae if k.startswith("encoder.") and not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert len(state) == len(encoder)


def test_the_sequential_cvaegan_refuses_a_frozen_decoder():
    with pytest.raises(ValueError, match="joint"):
        build(hyper("cvaegan", "modern", 32, channels=8, decoder="frozen", update_order="sequential"), DEFAULT_VOCABULARY)


def test_latent_regression_trains_the_encoder_on_the_decoders_own_pizzas(tmp_path):
    assert main([*TINY, "cvaegan", "--latent-regression", "1", "--steps", "1", "--out", str(tmp_path)]) == 0
    row = next(csv.DictReader(open(tmp_path / "losses.csv")))
    assert float(row["latent_regression"]) > 0

"""Evaluation metrics on cases with a known answer, and the protocol end to end with stand-in models.

No trained network is used. The end-to-end checks pair a stand-in generator that draws real
kitchen pizzas of the requested recipe with an oracle judge that remembers what the kitchen drew
for it: the judge is perfect by construction, so whatever the protocol reports beyond that is
the protocol's own bookkeeping (recipes matched to images, codes, sections, resizing).
"""

import json
import math
import os
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from pizza_models.evaluation import evaluate, protocol, references, reports
from pizza_models.evaluation import metrics as M
from pizza_models.evaluation.cas import CASBudget, train_classifier
from pizza_models.families.classifier import ClassifierConfig, IngredientClassifier
from pizza_models.families.cvae import CVAE, CVAEConfig
from pizza_models.data import kitchen_recipes, to_tensor
from pizza_models.hub import save_checkpoint
from pizza_models.kitchen.procedural import Kitchen
from pizza_models.recipe_sampler import HELD_OUT_RECIPES, sample_recipe
from pizza_models.recipe import DEFAULT_VOCABULARY, TOPPING, Vocabulary, encode, from_counts

SIZE = 32  # stand-ins draw small pizzas: rendering is the slow part
SMALL = dict(n_train_recipes=8, n_per_recipe=2, n_held_out_samples=1, n_single_samples=1,
             n_fid=96, n_recon=8, kid_subsets=10, kid_subset_size=48, cas=None)


# --------------------------------------------------------------------------- stand-ins


def _key(image: torch.Tensor) -> bytes:
    """An image (3, H, W) in [-1, 1] as its 8-bit pixels: what the oracle remembers it by."""
    return ((image + 1) * 127.5).round().to(torch.uint8).numpy().tobytes()


class KitchenGenerator(nn.Module):
    """Draws the requested recipe in the kitchen, with the render seed carried by the latent (B, 1).

    Its ``restyle`` ignores the image and draws with latent 0, so that the target recipe is drawn
    exactly: a perfect restyle.
    """

    draws = encodes = True

    def __init__(self, size: int = SIZE):
        super().__init__()
        self.config = SimpleNamespace(encoding="counts", vocabulary=DEFAULT_VOCABULARY, image_size=size)
        self.kitchen = Kitchen()
        self.drawn: dict[bytes, torch.Tensor] = {}  # image -> (V,) bool presence of what was drawn

    def sample_latent(self, n, generator=None, scale=1.0, device=None):
        return torch.randint(0, 2**20, (n, 1), generator=generator).float()

    def draw(self, z, codes):
        images = []
        for seed, code in zip(z[:, 0].long().tolist(), codes):
            image = to_tensor(self.kitchen.render(from_counts(code), seed, self.config.image_size), self.config.image_size)
            self.drawn[_key(image)] = code > 0
            images.append(image)
        return torch.stack(images)

    def restyle(self, x, source, target, noise=0.0, generator=None):
        z = x.new_zeros(len(x), 1)
        return self.draw(z, source), self.draw(z, target)


class NoiseGenerator(nn.Module):
    """Uniform noise images whatever the recipe; the latent is the noise."""

    draws = True

    def __init__(self, size: int = SIZE):
        super().__init__()
        self.config = SimpleNamespace(encoding="counts", vocabulary=DEFAULT_VOCABULARY, image_size=size)

    def sample_latent(self, n, generator=None, scale=1.0, device=None):
        return torch.rand(n, 3 * self.config.image_size**2, generator=generator) * 2 - 1

    def draw(self, z, codes):
        return z.view(len(z), 3, self.config.image_size, self.config.image_size)


class OracleJudge(nn.Module):
    """Knows every pizza a ``KitchenGenerator`` drew and sees nothing on anything else.

    Features: the image average-pooled to 4 x 4 (48 numbers), which separates kitchen pizzas from
    noise plainly; logits: +10 for the ingredients drawn, -10 for the rest.
    """

    def __init__(self, drawn: dict):
        super().__init__()
        self.drawn = drawn

    def features(self, x):
        return F.adaptive_avg_pool2d(x, 4).flatten(1)

    def forward(self, x):
        nothing = torch.zeros(len(DEFAULT_VOCABULARY), dtype=torch.bool)
        seen = torch.stack([self.drawn.get(_key(image), nothing) for image in x])
        return seen.float() * 20 - 10


@pytest.fixture(scope="module")
def oracle_metrics():
    generator = KitchenGenerator()
    return protocol.evaluate_generator(generator, OracleJudge(generator.drawn), **SMALL)


@pytest.fixture(scope="module")
def noise_metrics():
    return protocol.evaluate_generator(NoiseGenerator(), OracleJudge({}), **SMALL)


def _whitened(n: int, d: int, seed: int) -> torch.Tensor:
    """(n, d) float64 samples whose sample mean is exactly 0 and sample covariance exactly I."""
    x = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    x = x - x.mean(0)
    return x @ torch.linalg.inv(torch.linalg.cholesky(torch.cov(x.T))).T


# --------------------------------------------------------------------------- recipe_f1


def test_recipe_f1_perfect_prediction_is_one():
    target = torch.tensor([[1, 0, 1], [0, 1, 0]], dtype=torch.bool)
    assert M.recipe_f1(target.clone(), target) == {"micro_f1": 1.0, "macro_f1": 1.0}


def test_recipe_f1_all_wrong_is_zero():
    target = torch.tensor([[1, 0, 1], [0, 1, 0]], dtype=torch.bool)
    assert M.recipe_f1(~target, target) == {"micro_f1": 0.0, "macro_f1": 0.0}


def test_recipe_f1_hand_computed_case_ignores_ingredients_absent_everywhere():
    # Columns: a (TP 1), b (TP 1, FN 1), c (FP 1), d (absent from both: no F1, left out of the macro).
    target = torch.tensor([[1, 1, 0, 0], [0, 1, 0, 0]], dtype=torch.bool)
    predicted = torch.tensor([[1, 0, 1, 0], [0, 1, 0, 0]], dtype=torch.bool)
    scores = M.recipe_f1(predicted, target)
    assert scores["micro_f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert scores["macro_f1"] == pytest.approx((1 + 2 / 3 + 0) / 3)


def test_recipe_f1_nothing_anywhere_is_perfect_agreement():
    empty = torch.zeros(3, 5, dtype=torch.bool)
    assert M.recipe_f1(empty, empty) == {"micro_f1": 1.0, "macro_f1": 1.0}


# --------------------------------------------------------------------------- Frechet distance and KID


def test_frechet_distance_of_a_set_with_itself_is_zero_even_with_a_constant_feature():
    feats = torch.randn(300, 6, generator=torch.Generator().manual_seed(0))
    feats[:, 2] = 1.5  # zero variance: a singular covariance
    assert M.frechet_distance(feats, feats) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_of_identity_covariances_is_the_squared_mean_shift():
    shift = torch.tensor([1.0, -2.0, 0.5, 0.0], dtype=torch.float64)
    a, b = _whitened(400, 4, 1), _whitened(500, 4, 2) + shift
    assert M.frechet_distance(a, b) == pytest.approx(float(shift.square().sum()), rel=1e-9)


def test_frechet_distance_matches_the_closed_form_for_rotated_diagonal_covariances():
    # Diagonal covariances: d^2 = |mu_a - mu_b|^2 + sum (sqrt(s_a) - sqrt(s_b))^2 = 1 + (1 + 1 + 4).
    # A common rotation makes the covariances full matrices without changing the distance.
    rotation, _ = torch.linalg.qr(torch.randn(3, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64))
    a = _whitened(300, 3, 4) * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    b = _whitened(300, 3, 5) * torch.tensor([2.0, 1.0, 1.0], dtype=torch.float64)
    b = b + torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    assert M.frechet_distance(a @ rotation.T, b @ rotation.T) == pytest.approx(7.0, rel=1e-9)


def test_frechet_distance_refuses_fewer_images_than_feature_dimensions():
    with pytest.raises(ValueError, match=r"rank at most n - 1.*kernel inception distance"):
        M.frechet_distance(torch.randn(20, 64), torch.randn(500, 64))


def test_kid_of_two_samples_of_one_distribution_is_near_zero():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(200, 8, generator=g), torch.randn(200, 8, generator=g)
    assert abs(M.kernel_inception_distance(a, b, subsets=20, subset_size=100)) < 0.2


def test_kid_of_different_distributions_is_clearly_positive():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(200, 8, generator=g), torch.randn(200, 8, generator=g) + 1
    assert M.kernel_inception_distance(a, b, subsets=20, subset_size=100) > 2


# --------------------------------------------------------------------------- PSNR and diversity


def test_psnr_of_identical_images_is_infinite():
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    assert M.psnr(x, x.clone()) == math.inf


def test_psnr_of_known_noise_matches_the_formula():
    x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    noise = 0.1 * torch.where(torch.rand(x.shape, generator=torch.Generator().manual_seed(1)) < 0.5, -1.0, 1.0)
    assert M.psnr(x, x + noise) == pytest.approx(10 * math.log10(4 / 0.01), rel=1e-6)  # MSE is exactly 0.01


def test_diversity_of_identical_features_is_zero():
    feats = torch.randn(5, 1, 16).expand(5, 4, 16)  # 5 recipes, 4 identical images each
    assert M.diversity(feats) == 0.0


def test_diversity_is_the_mean_pairwise_distance():
    triangle = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]])  # pairwise distances 3, 4, 5
    pair = torch.tensor([[0.0, 0.0], [0.0, 2.0]])
    assert M.diversity([triangle, pair]) == pytest.approx((4 + 2) / 2)


# --------------------------------------------------------------------------- the trivial reader


def test_constant_reader_f1_matches_recipe_f1_of_the_repeated_answer():
    target = torch.rand(50, 7, generator=torch.Generator().manual_seed(0)) < 0.3
    target[:, 6] = False  # an ingredient nobody has: left out unless answered
    for answer in ([1, 1, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 1], [1] * 7, [0] * 7):
        answer = torch.tensor(answer, dtype=torch.bool)
        exact = M.constant_reader_f1(target, answer)
        assert exact == pytest.approx(M.recipe_f1(answer.expand_as(target), target), abs=1e-12)


def test_constant_reader_f1_hand_computed_case():
    # 4 pizzas; a on all 4, b on 1, c on 2; the reader always answers {a, b}.
    # F1_a = 2*4 / (4 + 4) = 1, F1_b = 2*1 / (4 + 1) = 0.4, F1_c = 0 (never answered).
    # micro: TP = 5, FP = 0 + 3, FN = 2  ->  10 / (10 + 3 + 2).
    target = torch.tensor([[1, 1, 1], [1, 0, 1], [1, 0, 0], [1, 0, 0]], dtype=torch.bool)
    scores = M.constant_reader_f1(target, torch.tensor([True, True, False]))
    assert scores["macro_f1"] == pytest.approx((1 + 0.4 + 0) / 3) and scores["micro_f1"] == pytest.approx(10 / 15)


def test_trivial_reader_scores_the_protocols_recipes_exactly():
    trivial = references.trivial_reader(n_train_recipes=8, n_per_recipe=2, n_held_out_samples=3, n_single_samples=2)
    said = torch.tensor([i in ("tomato_sauce", "mozzarella") for i in DEFAULT_VOCABULARY.ids])
    held_out = protocol.presence([r for r in HELD_OUT_RECIPES for _ in range(3)])
    assert trivial["held_out_recipes"] == M.recipe_f1(said.expand_as(held_out), held_out)
    assert trivial["single_ingredient"]["recognised"] == 2  # its answer, found on its own pizzas only
    assert trivial["second_judge"] == {k: trivial[k] for k in ("train_recipes", "held_out_recipes", "single_ingredient")}


# --------------------------------------------------------------------------- the spectral distance


def _checkerboard(images: torch.Tensor, amplitude: float = 0.1) -> torch.Tensor:
    """Images with a one-pixel checkerboard of +-amplitude added: what transposed convolutions leave."""
    h, w = images.shape[-2:]
    board = (torch.arange(h)[:, None] + torch.arange(w)[None, :]) % 2 * 2 - 1  # (H, W) of +-1
    return (images + amplitude * board).clamp(-1, 1)


def test_spectral_distance_of_a_set_with_itself_is_zero():
    x = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert M.spectral_distance(x, x.clone()) == 0.0


def test_radial_power_spectrum_of_a_checkerboard_peaks_at_the_highest_frequency():
    spectrum = M.radial_power_spectrum(_checkerboard(torch.zeros(1, 3, 16, 16), 1.0))
    assert spectrum.shape == (12,) and int(spectrum.argmax()) == 11  # r = round(8 * sqrt(2))


def test_checkerboard_on_kitchen_pizzas_scores_a_clearly_larger_spectral_distance():
    recipes = kitchen_recipes(48, seed=3)
    a = protocol.render(recipes, 64, first_seed=10)
    b = protocol.render(recipes, 64, first_seed=10_000)  # the same recipes, other renders: the floor
    clean, artifacts = M.spectral_distance(a, b), M.spectral_distance(a, _checkerboard(b))
    assert artifacts > 5 * clean and artifacts > 3.0  # dB


# --------------------------------------------------------------------------- Classification Accuracy Score

# A small kitchen (six ingredients at 32 x 32) that a tiny classifier learns in 80 steps.
SMALL_KITCHEN = Vocabulary.from_ids(["tomato_sauce", "cheese_sauce", "mozzarella", "pepperoni", "olives", "bell_pepper"])
TINY_CAS = CASBudget(n_images=256, image_size=32, steps=80, batch_size=32, channels=8, n_test=128, seed=1)


@pytest.mark.e2e  # a classifier's training to a meaningful score: ~10 s on one core; the fast tier runs MICRO_CAS
def test_cas_on_kitchen_renders_is_close_to_a_judges_own_accuracy():
    # "Close": within 0.1 macro-F1 of a judge trained on the same budget directly on other kitchen
    # renders, and tested the same way; both far above the trivial reader. The kitchen column's
    # CAS is then a ceiling a generator can be measured against, not an artefact of the protocol.
    model = references.KitchenModel(32, SMALL_KITCHEN)
    run = protocol._Run(torch.device("cpu"), (), 64, False)
    cas = protocol.classification_accuracy_score(model, TINY_CAS, 0, SMALL_KITCHEN, run)
    recipes = kitchen_recipes(TINY_CAS.n_images, seed=99, vocabulary=SMALL_KITCHEN)
    images = protocol.render(recipes, 32, first_seed=123_456, vocabulary=SMALL_KITCHEN)
    judge = train_classifier(images, protocol.presence(recipes, SMALL_KITCHEN), SMALL_KITCHEN, TINY_CAS)
    own = protocol.judge_accuracy(judge, n=TINY_CAS.n_test, size=32)
    assert abs(cas["macro_f1"] - own["macro_f1"]) < 0.1
    assert min(cas["macro_f1"], own["macro_f1"]) > 0.7


MICRO_CAS = CASBudget(n_images=48, image_size=16, steps=6, batch_size=16, channels=4, n_test=32, seed=1)  # runs, measures nothing


def test_cas_runs_end_to_end_and_scores_in_range():
    model = references.KitchenModel(16, SMALL_KITCHEN)
    run = protocol._Run(torch.device("cpu"), (), 64, False)
    cas = protocol.classification_accuracy_score(model, MICRO_CAS, 0, SMALL_KITCHEN, run)
    assert {"macro_f1", "micro_f1"} <= set(cas) and all(0 <= cas[k] <= 1 for k in ("macro_f1", "micro_f1"))
    assert protocol.classification_accuracy_score(model, MICRO_CAS, 0, SMALL_KITCHEN, run) == cas  # reproducible


def test_cas_of_a_model_alone_takes_its_vocabulary_and_runs_where_it_is():
    model = references.KitchenModel(16, SMALL_KITCHEN)
    run = protocol._Run(torch.device("cpu"), (), 64, False)
    explicit = protocol.classification_accuracy_score(model, MICRO_CAS, 0, SMALL_KITCHEN, run)
    assert protocol.classification_accuracy_score(model, MICRO_CAS) == explicit


def test_cas_training_is_reproducible_and_leaves_the_global_rng_alone():
    images = torch.rand(64, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    labels = torch.rand(64, 6, generator=torch.Generator().manual_seed(1)) < 0.5
    budget = CASBudget(n_images=64, image_size=16, steps=3, batch_size=16, channels=4)
    torch.manual_seed(5)
    before = torch.random.get_rng_state()
    one, two = (train_classifier(images, labels, SMALL_KITCHEN, budget) for _ in range(2))
    assert torch.equal(torch.random.get_rng_state(), before)
    assert all(torch.equal(p, q) for p, q in zip(one.state_dict().values(), two.state_dict().values()))


# --------------------------------------------------------------------------- helpers of the protocol


def test_edit_recipe_adds_or_removes_exactly_one_topping():
    rng, edits = np.random.default_rng(0), np.random.default_rng(1)
    kinds = {i.id: i.kind for i in DEFAULT_VOCABULARY}
    for _ in range(50):
        source = sample_recipe(rng)
        target, topping = protocol.edit_recipe(source, edits)
        assert kinds[topping] == TOPPING
        assert set(source.ingredients) ^ set(target.ingredients) == {topping}
        assert 0 < len(target) <= 9


def test_judge_images_resizes_to_the_judges_size():
    seen = []

    class Judge(nn.Module):
        config = SimpleNamespace(image_size=64)

        def features(self, x):
            seen.append(tuple(x.shape))
            return x.mean(dim=(2, 3))

        def forward(self, x):
            return torch.zeros(len(x), 28)

    feats, probs = protocol.judge_images(Judge(), torch.zeros(5, 3, 32, 32), batch_size=4)
    assert seen == [(4, 3, 64, 64), (1, 3, 64, 64)]
    assert feats.shape == (5, 3) and probs.shape == (5, 28)


def test_judge_accuracy_of_a_judge_that_always_says_margherita_base():
    class Constant(nn.Module):  # always "tomato sauce and mozzarella", whatever the image
        def features(self, x):
            return x.mean(dim=(2, 3))

        def forward(self, x):
            logits = torch.full((len(x), 28), -10.0)
            logits[:, [0, 1]] = 10.0
            return logits

    accuracy = protocol.judge_accuracy(Constant(), n=64, size=SIZE, seed=5)
    rng = np.random.default_rng(5)
    recipes = [sample_recipe(rng, include_held_out=True) for _ in range(64)]
    with_sauce = sum("tomato_sauce" in r.ingredients for r in recipes)
    sauce = accuracy["per_ingredient"]["tomato_sauce"]
    assert sauce["recall"] == 1.0 and sauce["precision"] == pytest.approx(with_sauce / 64)
    assert accuracy["per_ingredient"]["pepperoni"]["precision"] is None  # never predicted: undefined
    assert accuracy["per_ingredient"]["pepperoni"]["recall"] == 0.0


# --------------------------------------------------------------------------- the protocol end to end


def test_kitchen_generator_gets_perfect_recipe_fidelity_from_the_oracle(oracle_metrics):
    for section in ("train_recipes", "held_out_recipes"):
        assert oracle_metrics[section] == {"micro_f1": 1.0, "macro_f1": 1.0}, section
    single = oracle_metrics["single_ingredient"]
    assert single["mean"] == 1.0 and single["recognised"] == single["ingredients"] == 28
    assert oracle_metrics["restyle_fidelity"] == {"micro_f1": 1.0, "macro_f1": 1.0, "edit_success": 1.0}


def test_noise_generator_gets_zero_recipe_fidelity(noise_metrics):
    assert noise_metrics["train_recipes"] == {"micro_f1": 0.0, "macro_f1": 0.0}
    assert noise_metrics["held_out_recipes"] == {"micro_f1": 0.0, "macro_f1": 0.0}
    assert noise_metrics["single_ingredient"]["recognised"] == 0
    assert noise_metrics["reconstruction_psnr"] is None and noise_metrics["restyle_fidelity"] is None  # no encoder


def test_kitchen_pizzas_are_much_closer_to_real_ones_than_noise(oracle_metrics, noise_metrics):
    assert oracle_metrics["frechet"] < 0.05 * noise_metrics["frechet"]
    assert abs(oracle_metrics["kid"]) < 0.05 * noise_metrics["kid"]
    assert oracle_metrics["frechet_skipped"] is None


class PoolJudge(nn.Module):
    """Sees the image average-pooled to 4 x 4 and reads no ingredient: for distances only."""

    def features(self, x):
        return F.adaptive_avg_pool2d(x, 4).flatten(1)

    def forward(self, x):
        return torch.full((len(x), len(DEFAULT_VOCABULARY)), -10.0)


def test_kitchen_model_draws_the_kitchens_pizza_for_its_latent():
    model = references.KitchenModel(SIZE)
    recipe = kitchen_recipes(1, seed=4)[0]
    z = model.sample_latent(1, generator=torch.Generator().manual_seed(0))
    image = model.draw(z, encode(recipe, "counts")[None])[0]
    seed = protocol.RENDER_SEED + protocol.KITCHEN * protocol.RENDER_STREAM + int(z[0, 0])
    assert torch.equal(image, to_tensor(Kitchen().render(recipe, seed, SIZE), SIZE))


def test_kitchen_column_is_the_floor_of_the_distances(noise_metrics):
    kitchen = protocol.evaluate_generator(references.KitchenModel(SIZE), PoolJudge(), **SMALL)
    assert kitchen["frechet"] < 0.05 * noise_metrics["frechet"] and abs(kitchen["kid"]) < 0.05 * noise_metrics["kid"]
    assert kitchen["spectral_distance"] < 0.2 * noise_metrics["spectral_distance"]
    assert kitchen["reconstruction_psnr"] is None  # a renderer has no encoder


def test_a_second_judge_identical_to_the_first_agrees_everywhere():
    generator = KitchenGenerator()
    judge = OracleJudge(generator.drawn)
    metrics = protocol.evaluate_generator(generator, judge, second_judge=judge, **SMALL)
    for section in ("train_recipes", "held_out_recipes", "single_ingredient"):
        assert metrics["second_judge"][section] == metrics[section]
    assert metrics["judge_disagreement"]["mean"] == 0.0
    assert set(metrics["judge_disagreement"]["per_ingredient"]) == set(DEFAULT_VOCABULARY.ids)


def test_twenty_real_photos_give_kid_and_no_frechet():
    generator = KitchenGenerator()
    photos = protocol.render(kitchen_recipes(20, seed=11), SIZE, first_seed=0)  # stand-ins for 20 photos
    metrics = protocol.evaluate_generator(generator, OracleJudge(generator.drawn), **{**SMALL, "n_fid": 64}, real=photos)
    assert metrics["frechet"] is None and "rank" in metrics["frechet_skipped"]
    assert math.isfinite(metrics["kid"]) and metrics["protocol"]["real"] == "20 given images"


def test_protocol_is_reproducible(oracle_metrics):
    generator = KitchenGenerator()
    again = protocol.evaluate_generator(generator, OracleJudge(generator.drawn), **SMALL)
    assert reports.to_json(again) == reports.to_json(oracle_metrics)


def test_random_cvae_with_random_classifier_gives_every_key_in_range():
    torch.manual_seed(0)
    model = CVAE(CVAEConfig.modern(image_size=32, latent_dim=16, channels=8))
    judge = IngredientClassifier(ClassifierConfig(image_size=64, channels=4))  # 32 x 32 pizzas judged at 64 x 64
    model.train(), judge.eval()
    metrics = protocol.evaluate_generator(model, judge, **{**SMALL, "n_fid": 40})
    assert model.training and not judge.training  # evaluated in eval mode, callers' modes restored
    assert set(metrics) == {"train_recipes", "held_out_recipes", "single_ingredient", "frechet", "frechet_skipped",
                            "kid", "spectral_distance", "diversity", "reconstruction_psnr", "restyle_fidelity", "cas",
                            "protocol"}
    for scores in (metrics["train_recipes"], metrics["held_out_recipes"], metrics["restyle_fidelity"]):
        assert all(0.0 <= v <= 1.0 for v in scores.values())
    assert 0.0 <= metrics["single_ingredient"]["mean"] <= 1.0
    assert math.isfinite(metrics["reconstruction_psnr"]) and metrics["frechet"] >= 0 and metrics["diversity"] >= 0
    assert metrics["protocol"]["judge_size"] == 64 and metrics["protocol"]["image_size"] == 32


# --------------------------------------------------------------------------- reports and command line


def test_to_json_sorts_keys_rounds_floats_and_writes_infinity_as_null():
    text = reports.to_json({"b": 1 / 3, "a": {"psnr": math.inf, "n": 3}, "c": torch.tensor(0.123456)})
    assert list(json.loads(text)) == ["a", "b", "c"]
    assert json.loads(text) == {"a": {"n": 3, "psnr": None}, "b": 0.3333, "c": 0.1235}


def test_to_markdown_has_one_column_per_model_and_notes_for_reasons():
    one = {"train_recipes": {"micro_f1": 0.5}, "frechet": None, "frechet_skipped": "too few", "protocol": {"seed": 0}}
    two = {"train_recipes": {"micro_f1": 0.25}, "frechet": 3.0, "frechet_skipped": None, "protocol": {"seed": 0}}
    table = reports.to_markdown(one, two, names=["a", "b"])
    assert "| metric | a | b |" in table
    assert "| train_recipes.micro_f1 | 0.5000 | 0.2500 |" in table and "| frechet | - | 3.0000 |" in table
    assert "- a: frechet_skipped: too few" in table and "seed" not in table


def test_write_metrics_writes_a_readable_metrics_json_and_nothing_else(tmp_path):
    path = reports.write_metrics(tmp_path, {"kid": 0.5})
    assert path == tmp_path / "metrics.json" and json.loads(path.read_text()) == {"kid": 0.5}
    assert os.stat(path).st_mode & 0o777 == 0o644 and os.listdir(tmp_path) == ["metrics.json"]


def test_cli_reports_a_missing_checkpoint_without_a_traceback(tmp_path, capsys):
    assert evaluate.main([str(tmp_path / "nowhere"), "--judge", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "no such checkpoint folder" in err and "Traceback" not in err


def test_cli_refuses_an_untrained_judge(tmp_path, capsys):
    save_checkpoint(IngredientClassifier(ClassifierConfig(image_size=64, channels=4)), tmp_path / "judge")
    assert evaluate.main(["--judge-only", str(tmp_path / "judge")]) == 2
    out, err = capsys.readouterr()
    assert "macro_f1" in out and f"< {protocol.JUDGE_MIN_MACRO_F1}" in err

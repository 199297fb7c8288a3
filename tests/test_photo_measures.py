"""The measures on real photos (pizza_models.evaluation.photo_measures): each scores the photos themselves near its
ceiling and clip-art or noise near its floor, so that each can be seen to fail.

The fast tests use tiny budgets (seconds each); the ``e2e`` ones run the shipped budgets.
"""

import json
import os
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import DODO20

from pizza_models.evaluation import photo_measures as P
from pizza_models.evaluation.cas import CASBudget
from pizza_models.data import kitchen_recipes
from pizza_models.evaluation.metrics import constant_reader_f1
from pizza_models.evaluation.protocol import presence
from pizza_models.recipe import DEFAULT_VOCABULARY, parse_recipe
from scripts.photo_measures import repeated_cas, two_sample

TINY_TWO_SAMPLE = P.TwoSampleBudget(n_images=96, image_size=32, steps=40, test_views=4)
TINY_CAS = CASBudget(n_images=256, image_size=32, steps=80, channels=8)  # learns nothing much: for the floors
SMALL_CAS = CASBudget(n_images=768, image_size=32, steps=300, channels=16, lr=3e-3)  # learns the kitchen somewhat


def noise_draw(recipes, seed: int) -> np.ndarray:
    """A "generator" of uniform noise: it shows no ingredient at all."""
    return np.random.default_rng(seed).integers(0, 256, (len(recipes), 64, 64, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def photos():
    """The 20 dodo20 photos at 64 px, uint8 (20, 64, 64, 3), and their recipes."""
    if not (DODO20 / "recipes.csv").is_file():
        pytest.skip(f"dodo20 photos not found at {DODO20} (they ship beside the project, not in it)")
    return P.load_photos(DODO20, 64)


def trivial_macro_f1(recipes) -> float:
    """Macro-F1 over the photos' ingredients of a reader answering their common ingredients for every photo."""
    target = presence(recipes)
    answer = target.float().mean(0) >= 0.5  # (V,)
    return P.photo_f1(answer.expand(len(recipes), -1), target)["macro_f1"]


# --------------------------------------------------------------------------- pictures and draws


def test_flat_patch_share_counts_flat_fills_inside_the_pizza():
    size, yy, xx = 64, *np.mgrid[:64, :64]
    disc = (yy - 31.5) ** 2 + (xx - 31.5) ** 2 < 28**2
    flat = np.full((1, size, size, 3), 255, np.uint8)
    flat[0][disc] = (200, 120, 60)
    assert P.flat_patch_share(flat) == 1.0  # one flat fill; the white plate around it is not counted
    textured = flat.copy()
    textured[0][disc] = np.random.default_rng(0).integers(60, 200, (int(disc.sum()), 3))
    assert P.flat_patch_share(textured) < 0.01
    mask = P.pizza_mask(flat)[0]
    assert mask.sum() < disc.sum() and not (mask & ~disc).any()  # inside the rim, never on the plate
    as_tensor = torch.from_numpy(flat).permute(0, 3, 1, 2).float() / 127.5 - 1  # (1, 3, S, S) in [-1, 1]
    assert P.flat_patch_share(as_tensor, mask=disc) == 1.0
    with pytest.raises(ValueError, match="no pizza"):
        P.flat_patch_share(np.full((1, size, size, 3), 255, np.uint8))


def test_photos_have_few_flat_patches_kitchen_renders_many(photos):
    images, recipes = photos
    real = P.flat_patch_share(images)
    kitchen = P.flat_patch_share(P.kitchen_draw(64)(recipes * 2, seed=0))
    assert real < 0.01
    assert kitchen > 0.05 and kitchen > 10 * real


def test_draws_are_reproducible_and_copies_are_lossless(photos):
    images, recipes = photos
    kitchen = P.kitchen_draw(64)
    assert np.array_equal(kitchen(recipes[:3], 5), kitchen(recipes[:3], 5))
    assert not np.array_equal(kitchen(recipes[:3], 5), kitchen(recipes[:3], 6))
    copies = P.photo_copy_draw(images, recipes)(recipes, seed=1)
    for photo, copy in zip(images, copies):  # one of the 8 turns and mirrors of its photo, pixel for pixel
        views = [np.rot90(v, k) for v in (photo, photo[:, ::-1]) for k in range(4)]
        assert any(np.array_equal(copy, v) for v in views)
    with pytest.raises(KeyError, match="no photo"):
        P.photo_copy_draw(images, recipes)([parse_recipe("tomato_sauce, shrimp, garlic")], 0)


def test_folds_partition_the_photos():
    folds = P.photo_folds(20, 5, seed=3)
    assert sorted(np.concatenate(folds).tolist()) == list(range(20)) and [len(f) for f in folds] == [4] * 5
    assert all(np.array_equal(a, b) for a, b in zip(folds, P.photo_folds(20, 5, seed=3)))
    with pytest.raises(ValueError):
        P.photo_folds(20, 1)


def test_roc_auc():
    assert P.roc_auc(torch.tensor([0.9, 0.8]), torch.tensor([0.1, 0.2])) == 1.0
    assert P.roc_auc(torch.tensor([0.1, 0.2]), torch.tensor([0.9, 0.8])) == 0.0
    assert P.roc_auc(torch.tensor([0.5, 0.5]), torch.tensor([0.5, 0.5])) == 0.5
    assert P.roc_auc(torch.tensor([0.3, 0.9]), torch.tensor([0.5])) == 0.5


# --------------------------------------------------------------------------- real or generated


def test_real_or_generated_cannot_tell_copies_of_the_photos(photos, one_thread):
    images, recipes = photos
    copies = P.real_or_generated(images, recipes, P.photo_copy_draw(images, recipes), folds=4, budget=TINY_TWO_SAMPLE)
    assert 0.3 < copies["auc"] < 0.7
    assert len(copies["per_fold"]) == 4 and copies["n_test"] == 2 * 20 * TINY_TWO_SAMPLE.test_views


def test_real_or_generated_tells_the_clip_art_kitchen(photos, one_thread):
    images, recipes = photos
    kitchen = P.real_or_generated(images, recipes, P.kitchen_draw(64), folds=4, budget=TINY_TWO_SAMPLE)
    assert kitchen["auc"] > 0.9 and kitchen["accuracy"] > 0.75


def test_real_or_generated_never_trains_on_a_test_photo(photos, one_thread):
    """The drawn pizzas of a fold's training set are of its training photos' recipes only; the test
    fold's recipes are drawn afresh, with their own seed."""
    images, recipes = photos
    calls = []

    def recording(asked, seed):
        calls.append(({recipes.index(r) for r in asked}, seed))
        return P.kitchen_draw(64)(asked, seed)

    budget = P.TwoSampleBudget(n_images=32, image_size=32, steps=2, test_views=1)
    result = P.real_or_generated(images, recipes, recording, folds=5, budget=budget)
    for k, fold in enumerate(result["per_fold"]):
        (train, train_seed), (test, test_seed) = calls[2 * k], calls[2 * k + 1]
        assert test == set(fold["test_photos"]) and not train & test and train_seed != test_seed


# --------------------------------------------------------------------------- CAS on real photos


def test_photo_f1_gives_nothing_for_saying_yes_to_everything(photos):
    _, recipes = photos
    target = presence(recipes)  # (20, 28)
    everything = P.photo_f1(torch.ones_like(target), target)
    assert everything["macro_f1"] > trivial_macro_f1(recipes) + 0.1  # raw macro-F1 rewards saying yes...
    assert everything["macro_f1"] == pytest.approx(everything["chance_macro_f1"])  # ...which chance already does
    assert everything["micro_f1"] == pytest.approx(everything["chance_micro_f1"])
    perfect = P.photo_f1(target, target)
    assert perfect["macro_f1"] == perfect["micro_f1"] == 1.0 and perfect["chance_macro_f1"] < 0.5
    assert perfect["ingredients"] == int(target.any(0).sum())


def test_cas_on_photos_learns_nothing_from_noise(photos, one_thread):
    images, recipes = photos
    noise = P.cas_on_photos(lambda train: noise_draw, images, recipes, folds=4, budget=TINY_CAS)
    assert abs(noise["macro_f1"] - noise["chance_macro_f1"]) < 0.05  # what noise teaches reads the photos at chance
    assert len(noise["per_fold"]) == 4 and len(noise["read"]) == len(recipes)


def test_cas_reads_photos_of_the_world_its_draw_comes_from(one_thread):
    """The measure can score high: when the "photos" are kitchen renders, kitchen pizzas teach the
    classifier to read them well above chance (the clip-art kitchen against real photos is the floor)."""
    recipes = kitchen_recipes(32, seed=99)
    shots = P.kitchen_draw(64)(recipes, seed=12345)
    kitchen = P.kitchen_draw(64)
    result = P.cas_on_photos(lambda train: kitchen, shots, recipes, folds=2, budget=SMALL_CAS)
    assert result["macro_f1"] > result["chance_macro_f1"] + 0.1 and result["micro_f1"] > result["chance_micro_f1"] + 0.1


def test_cas_draw_is_built_from_the_training_photos_only(photos, one_thread):
    images, recipes = photos
    budget = CASBudget(n_images=16, image_size=32, steps=1)
    seen, drawn = [], []

    def train_draw(train):  # e.g. a painted kitchen built from the training photos: a new draw per fold
        seen.append(set(train.tolist()))
        return lambda asked, seed: drawn.append(seed) or noise_draw(asked, seed)

    result = P.cas_on_photos(train_draw, images, recipes, folds=5, budget=budget)
    for train, fold in zip(seen, result["per_fold"]):
        assert len(train) == 16 and not train & set(fold["test_photos"])
    assert len(drawn) == 5  # one training set, one classifier per fold

    drawn.clear()
    same = train_draw(np.arange(20))  # a draw that saw no photo: the same for every fold, trained on once
    P.cas_on_photos(lambda train: same, images, recipes, folds=5, budget=budget)
    assert len(drawn) == 1


# --------------------------------------------------------------------------- the photo judge


def test_photo_judge_reads_its_own_kitchen_and_not_noise(photos, one_thread):
    images, recipes = photos
    judge, validation = P.train_photo_judge(P.kitchen_draw(64), images, recipes, validate=range(5), budget=SMALL_CAS)
    assert validation["photos"] == [0, 1, 2, 3, 4] and 0 <= validation["macro_f1"] <= 1
    kitchen = P.read_menu(judge, P.kitchen_draw(64), n_single_samples=2, n_held_out_samples=1)
    noise = P.read_menu(judge, noise_draw, n_single_samples=2, n_held_out_samples=1)
    assert kitchen["single_ingredient"]["ingredients"] == len(DEFAULT_VOCABULARY)
    # A judge this small also "finds" in noise what it guesses on every pizza (7 to 10 singles of 28, by CPU):
    # its own kitchen's singles must still read better, and its recipes far better.
    assert kitchen["single_ingredient"]["recognised"] > noise["single_ingredient"]["recognised"]
    assert kitchen["held_out_recipes"]["macro_f1"] > noise["held_out_recipes"]["macro_f1"] + 0.1


# --------------------------------------------------------------------------- the shipped budgets


@pytest.mark.e2e
def test_shipped_two_sample_budget(photos, one_thread):
    """Each fold's CNN as the measures train it, on 3 folds of the photos (the measures' 5 cost twice the time)."""
    images, recipes = photos
    copies = P.real_or_generated(images, recipes, P.photo_copy_draw(images, recipes), folds=3)
    kitchen = P.real_or_generated(images, recipes, P.kitchen_draw(64), folds=3)
    assert 0.35 < copies["auc"] < 0.65 and kitchen["auc"] > 0.95


@pytest.mark.e2e
def test_photo_measures_script_quick(photos, tmp_path):
    """The command line with tiny budgets: a row per source, every cell filled where it applies (the spreads of the test
    and of CAS over their two seeds too)."""
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "measures.json"
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(root))
    subprocess.run([sys.executable, "scripts/photo_measures.py", "checkpoints/layered", "--quick", "--out", str(out),
                    "--photos", str(DODO20), "--rows", "photos", "kitchen", "--two-sample-seeds", "2", "--cas-seeds", "2"],
                   cwd=root, env=env, check=True, capture_output=True, timeout=600)
    rows = json.loads(out.read_text())["rows"]
    assert list(rows) == ["photos", "kitchen", "layered"]
    assert rows["photos"]["singles"] is None and all(v is not None for v in rows["layered"].values())
    assert rows["photos"]["flat"] < rows["kitchen"]["flat"]
    repeats = json.loads(out.read_text())["results"]["layered"]["real_or_generated"]["repeats"]
    assert [r["seed"] for r in repeats] == [0, 1] and rows["layered"]["rog_auc"] == pytest.approx(sum(r["auc"] for r in repeats) / 2)


def test_same_folds_repeats_the_test_on_one_fold_split_with_the_cnns_own_seeds(photos, one_thread):
    images, recipes = photos
    args = Namespace(folds=2, size=64, seed=3, two_sample_seeds=2, same_folds=True)
    result = two_sample(images, recipes, P.kitchen_draw(64), args, TINY_TWO_SAMPLE)
    first, second = result["repeats"]
    assert first["seed"] == second["seed"] == 3
    assert [f["test_photos"] for f in first["per_fold"]] == [f["test_photos"] for f in second["per_fold"]]
    assert (first["budget"]["seed"], second["budget"]["seed"]) == (TINY_TWO_SAMPLE.seed, TINY_TWO_SAMPLE.seed + 1)


def test_constant_reader_bound_matches_metrics(photos):
    """The noise tests' bound is the closed-form constant reader of ``metrics`` on the photos' ingredients."""
    _, recipes = photos
    target = presence(recipes)
    answer = target.float().mean(0) >= 0.5
    occurs = target.any(0)
    closed = constant_reader_f1(target[:, occurs], answer[occurs])["macro_f1"]
    assert trivial_macro_f1(recipes) == pytest.approx(closed)


def test_the_real_or_generated_test_draws_each_fold_from_its_training_photos():
    photos = np.random.default_rng(0).integers(0, 255, (10, 16, 16, 3), dtype=np.uint8)
    recipes, built = [parse_recipe("pepperoni")] * 10, []

    def fold_draw(train):
        built.append(sorted(train.tolist()))
        return lambda asked, seed: np.zeros((len(asked), 16, 16, 3), np.uint8)

    budget = P.TwoSampleBudget(n_images=8, image_size=16, steps=2, test_views=1)
    P.real_or_generated(photos, recipes, None, folds=2, size=16, budget=budget, fold_draw=fold_draw)
    assert built == [sorted(set(range(10)) - set(test.tolist())) for test in P.photo_folds(10, 2, 0)]


def test_cas_seeds_repeat_the_classifier_on_the_same_folds_and_pizzas(photos, one_thread):
    images, recipes = photos
    drawn = []

    def run(budget):
        return P.cas_on_photos(lambda train: lambda asked, seed: drawn.append(seed) or noise_draw(asked, seed), images, recipes,
                               folds=2, budget=budget)

    result = repeated_cas(run, TINY_CAS, Namespace(cas_seeds=2))
    first, second = result["repeats"]
    assert result["seeds"] == [TINY_CAS.seed, TINY_CAS.seed + 1] and len(set(drawn)) == 1  # the same pizzas each time
    assert [f["test_photos"] for f in first["per_fold"]] == [f["test_photos"] for f in second["per_fold"]]
    assert result["macro_f1"] == pytest.approx((first["macro_f1"] + second["macro_f1"]) / 2)
    assert result["macro_f1_sd"] >= 0

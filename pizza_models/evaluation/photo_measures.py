"""Measures on real photos, hard to game: how far a generator's pizzas are from the 20 menu photos.

Every generator is seen through one callable, a ``Draw``: ``draw(recipes, seed)`` returns one
pizza per recipe as a uint8 array (N, S, S, 3), the same pizzas for the same seed.
``kitchen_draw`` (the clip-art kitchen), ``model_draw`` (any checkpoint that draws) and
``photo_copy_draw`` (the real photos themselves, turned and mirrored losslessly: the ceiling)
make one. The photos are read with ``load_photos`` as uint8 (N, S, S, 3) beside their recipes, so
real and drawn pizzas take exactly the same path (quantised at S, then resized and augmented).

- ``flat_patch_share``: the share of 3x3 patches inside the pizza whose per-channel range is
  below ``FLAT_THRESHOLD`` grey levels. Clip-art (flat fills, smooth gradients, blur) is full of
  them; the photos, at 64 px, have almost none.
- ``real_or_generated``: a classifier two-sample test. A small CNN learns real photos (random
  rotations and flips) against drawn pizzas for the same recipes, leave-photos-out: the photos of
  a fold, every view of them, are never trained on, and its recipes' pizzas are fresh draws. ROC
  AUC and accuracy on the held-out photos; 0.5 means the CNN cannot tell them apart.
- ``cas_on_photos``: Classification Accuracy Score on real photos: an ingredient classifier
  trained only on drawn pizzas of sampled recipes reads the held-out photos of each fold (the draw
  may depend on the fold's training photos). ``cas_real_baseline`` trains the same classifier on
  the fold's real training photos instead.
- ``photo_judge``: an ingredient classifier trained on a draw's pizzas, validated on real photos,
  reads another draw's 28 single-ingredient pizzas and the held-out recipes, as ``protocol`` does.

Everything runs on the CPU with explicit seeds (``torch.Generator``, ``np.random.default_rng``);
budgets are frozen dataclasses (``cas.CASBudget`` and ``TwoSampleBudget``) recorded in the results.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

from . import metrics as M
from .cas import CAS_BUDGET, CASBudget, train_classifier
from ..families.classifier import IngredientClassifier
from ..data import kitchen_recipes, load_image, read_manifest, rotate_view, to_tensor
from ..kitchen.procedural import Kitchen
from ..recipe_sampler import HELD_OUT_RECIPES, single_ingredient_recipe
from .metrics import single_ingredient_scores
from .protocol import EVAL_SEED, THRESHOLD, generate, judge_images, presence, resize
from ..recipe import DEFAULT_VOCABULARY, Recipe, Vocabulary

Draw = Callable[[Sequence[Recipe], int], np.ndarray]  # (recipes, seed) -> uint8 (N, S, S, 3)
FoldDraw = Callable[[np.ndarray], Draw]  # the indices of a fold's training photos -> the draw trained on them
ImagesLike = Union[np.ndarray, torch.Tensor]  # uint8 (N, S, S, 3), or float (N, 3, S, S) in [-1, 1]

FLAT_THRESHOLD = 32  # grey levels (an eighth of 255): at 64 px not one in 300 of the photos' 3x3 patches is that flat
DRAW_SEED = 2 * 10**15  # kitchen render seeds of these measures start here: above training and protocol seeds
CAS_RECIPE_SEED = EVAL_SEED + 50  # sampled recipes of the photo CAS training sets
JUDGE_RECIPE_SEED = EVAL_SEED + 60  # sampled recipes of the photo judge's training set
ONE_LOGIT = Vocabulary.from_ids(["real"])  # the two-sample test's classifier: one logit, "this is a real photo"


@dataclass(frozen=True)
class TwoSampleBudget(CASBudget):
    """How the real-or-generated CNN is trained and tested, per fold (the CAS fields, smaller)."""

    n_images: int = 512  # per class: random views of the training photos, and as many drawn pizzas
    image_size: int = 48
    steps: int = 300  # Adam steps of ``batch_size`` over both classes
    channels: int = 8  # a resnet 8 channels wide: 0.08 M parameters
    test_views: int = 8  # random views of each held-out photo, and fresh pizzas per held-out recipe


TWO_SAMPLE_BUDGET = TwoSampleBudget()
# CAS: the CAS budget itself (4,096 pizzas, 48 px, 1,500 steps of a resnet 16 wide, about two minutes of one core;
# 8 wide on 2,048 pizzas, a clip-art kitchen classifier read the photos barely above chance). The photo judge looks
# closer: 64 px, twice the pizzas and steps (6 minutes). On photos it never saw (5 folds, each fold's bank) it reads
# about as the CAS budget does (macro-F1 0.263 against 0.266), and finds 24-26 of the painted kitchen's 28 singles, not 18-23.
PHOTO_CAS_BUDGET = CAS_BUDGET
PHOTO_JUDGE_BUDGET = replace(CAS_BUDGET, n_images=8192, image_size=64, steps=3000)


# --------------------------------------------------------------------------- pictures


def as_uint8(images: ImagesLike) -> np.ndarray:
    """uint8 (N, S, S, 3) as is; a float tensor (N, 3, S, S) in [-1, 1] rounded to uint8 (N, S, S, 3)."""
    if isinstance(images, torch.Tensor):
        x = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        return x.permute(0, 2, 3, 1).numpy()
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be uint8 (N, S, S, 3) or a float tensor (N, 3, S, S); got {images.dtype} {images.shape}")
    return images


def as_float(images: ImagesLike, size: Optional[int] = None) -> torch.Tensor:
    """Images as a float tensor (N, 3, size, size) in [-1, 1] (``protocol.resize``: bicubic, antialiased)."""
    x = torch.from_numpy(np.ascontiguousarray(as_uint8(images))).permute(0, 3, 1, 2).float() / 127.5 - 1
    return resize(x, size)


def load_photos(manifest: Union[str, Path], size: int = 64,
                vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> tuple[np.ndarray, list[Recipe]]:
    """The photos of a manifest (a CSV, or a folder holding recipes.csv) as uint8 (N, size, size, 3), and their recipes.

    Each photo goes through ``data.to_tensor`` (centre square, antialiased bicubic resize), then is
    quantised to uint8 like any drawn pizza."""
    manifest = Path(manifest)
    photos = read_manifest(manifest / "recipes.csv" if manifest.is_dir() else manifest, vocabulary)
    images = torch.stack([to_tensor(load_image(p.path), size) for p in photos])
    return as_uint8(images), [p.recipe for p in photos]


def pizza_mask(images: ImagesLike, shrink: float = 0.9, gap: float = 24) -> np.ndarray:
    """(N, S, S) bool: the disc inside each pizza's rim.

    The background is the median colour of the image border; pixels more than ``gap`` grey levels
    from it (any channel) are the pizza. Its disc is centred on their mean, with the radius reaching
    98% of them, shrunk by ``shrink`` so that neither the background nor the rim's edge is in it.
    """
    x = as_uint8(images).astype(np.float32)
    n, h, w, _ = x.shape
    border = np.concatenate([x[:, 0], x[:, -1], x[:, :, 0], x[:, :, -1]], axis=1)  # (N, 4S, 3)
    foreground = np.abs(x - np.median(border, axis=1)[:, None, None]).max(-1) > gap  # (N, H, W)
    ys, xs = np.mgrid[:h, :w].astype(np.float32) + 0.5
    masks = np.zeros((n, h, w), bool)
    for i in range(n):
        if foreground[i].sum() < 9:
            continue  # nothing on the plate: no disc
        cy, cx = ys[foreground[i]].mean(), xs[foreground[i]].mean()
        distance = np.hypot(ys - cy, xs - cx)
        masks[i] = distance <= shrink * np.percentile(distance[foreground[i]], 98)
    return masks


def flat_patch_share(images: ImagesLike, mask: Optional[np.ndarray] = None, threshold: float = FLAT_THRESHOLD) -> float:
    """The share of 3x3 patches, all nine pixels inside ``mask``, whose range (max - min, per channel,
    the largest of the three) is below ``threshold`` grey levels.

    images: uint8 (N, S, S, 3) or float (N, 3, S, S) in [-1, 1]; the threshold is calibrated at
    S = 64. mask: (N, S, S) or (S, S) bool; by default ``pizza_mask``. At 64 px the 20 photos score
    0.003, clip-art kitchen renders of their recipes 0.13 and the layered model's pizzas 0.22. Below
    16 levels the photos score 0 and the kitchen's per-pixel grain hides most of its flat fills.
    """
    x = as_uint8(images)
    mask = pizza_mask(x) if mask is None else np.broadcast_to(np.asarray(mask, bool), x.shape[:3])
    windows = sliding_window_view(x.astype(np.int16), (3, 3), axis=(1, 2))  # (N, S-2, S-2, 3, 3, 3)
    spread = (windows.max(axis=(-2, -1)) - windows.min(axis=(-2, -1))).max(-1)  # (N, S-2, S-2)
    inside = sliding_window_view(mask, (3, 3), axis=(1, 2)).all(axis=(-2, -1))  # (N, S-2, S-2)
    if not inside.any():
        raise ValueError("no 3x3 patch lies inside the mask: no pizza found")
    return float((spread[inside] < threshold).mean())


def random_views(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(N, 3, S, S) -> each image mirrored at random and turned by a random angle (``data.rotate_view``)."""
    angles = (torch.rand(len(images), generator=generator) * 360).tolist()
    flips = (torch.rand(len(images), generator=generator) < 0.5).tolist()
    return torch.stack([rotate_view(x, a, f) for x, a, f in zip(images, angles, flips)]) if len(images) else images


# --------------------------------------------------------------------------- draws


def kitchen_draw(size: int = 64, vocabulary: Vocabulary = DEFAULT_VOCABULARY, kitchen: Optional[Kitchen] = None) -> Draw:
    """The (clip-art) kitchen as a draw: render seeds ``DRAW_SEED`` + a draw from ``default_rng(seed)``."""
    kitchen = kitchen or Kitchen(vocabulary)

    def draw(recipes: Sequence[Recipe], seed: int) -> np.ndarray:
        seeds = (DRAW_SEED + np.random.default_rng(seed).integers(0, 2**60, len(recipes))).tolist()
        return np.stack([np.asarray(kitchen.render(r, s, size)) for r, s in zip(recipes, seeds)])

    return draw


def model_draw(model, size: int = 64, batch_size: int = 64) -> Draw:
    """A model that ``draws`` (``protocol.generate``: latents from a ``torch.Generator`` seeded ``seed``),
    its pizzas resized to ``size`` and quantised."""

    def draw(recipes: Sequence[Recipe], seed: int) -> np.ndarray:
        with torch.inference_mode():
            return as_uint8(resize(generate(model, list(recipes), seed, batch_size=batch_size), size))

    return draw


def photo_copy_draw(images: ImagesLike, recipes: Sequence[Recipe]) -> Draw:
    """A "generator" that returns the real photo of each recipe asked for (a random one where several
    share it), turned by a random multiple of 90 degrees and mirrored at random: lossless copies, the
    ceiling of every measure. A recipe with no photo raises ``KeyError``."""
    images = as_uint8(images)
    by_recipe: dict[Recipe, list[int]] = defaultdict(list)
    for i, r in enumerate(recipes):
        by_recipe[r].append(i)

    def draw(asked: Sequence[Recipe], seed: int) -> np.ndarray:
        rng, out = np.random.default_rng(seed), []
        for r in asked:
            if r not in by_recipe:
                raise KeyError(f"no photo of {r}: a copy of the photos draws only their {len(by_recipe)} recipes")
            choices = by_recipe[r]
            view = np.rot90(images[choices[rng.integers(len(choices))]], int(rng.integers(4)))
            out.append(view[:, ::-1] if rng.random() < 0.5 else view)
        return np.ascontiguousarray(np.stack(out))

    return draw


def photo_folds(n: int, folds: int = 5, seed: int = 0) -> list[np.ndarray]:
    """The test photos of each fold: a permutation of range(n) by ``default_rng(seed)`` cut into ``folds`` parts."""
    if not 2 <= folds <= n:
        raise ValueError(f"folds must be between 2 and the number of photos ({n}), got {folds}")
    return [np.sort(part) for part in np.array_split(np.random.default_rng(seed).permutation(n), folds)]


def _rest(n: int, test: np.ndarray) -> np.ndarray:
    return np.setdiff1d(np.arange(n), test)


def _cycle(indices: np.ndarray, n: int) -> np.ndarray:
    return np.resize(indices, n)  # n indices cycling through indices


# --------------------------------------------------------------------------- real or generated


def roc_auc(real_scores: torch.Tensor, generated_scores: torch.Tensor) -> float:
    """P(a real image scores above a generated one), ties counting one half (Mann-Whitney U / (n m))."""
    a, b = real_scores.double()[:, None], generated_scores.double()[None, :]
    return float(((a > b).double() + 0.5 * (a == b).double()).mean())


def real_or_generated(real: ImagesLike, real_recipes: Sequence[Recipe], draw: Draw, folds: int = 5, size: int = 64,
                      budget: TwoSampleBudget = TWO_SAMPLE_BUDGET, seed: int = 0, fold_draw: Optional[FoldDraw] = None) -> dict:
    """A classifier two-sample test between the photos ``real`` (N, S, S, 3) and ``draw``'s pizzas of their recipes
    (``fold_draw(training photos)``'s in each fold where given: a draw that may hold only those photos' pixels).

    Per fold: a fresh one-logit ``IngredientClassifier`` (``cas.train_classifier``) learns
    ``budget.n_images`` random views of the training photos (label 1) against as many drawn pizzas
    of their recipes (label 0), both at ``size`` then augmented alike and resized to
    ``budget.image_size``. It is tested on ``budget.test_views`` random views of each held-out
    photo and as many fresh pizzas of its recipe. Returns ``auc`` and ``accuracy`` (threshold 0.5)
    pooled over folds, and ``per_fold``; 0.5 means the two are indistinguishable, 1.0 always told apart.
    """
    real = as_float(real, size)
    n, scores, labels, per_fold = len(real), [], [], []
    for fold, test in enumerate(photo_folds(n, folds, seed)):
        views = torch.Generator().manual_seed(budget.seed * 1000 + seed * 100 + fold)
        train, fold_drawing = _cycle(_rest(n, test), budget.n_images), fold_draw(_rest(n, test)) if fold_draw else draw
        drawn = as_float(fold_drawing([real_recipes[i] for i in train], seed * 1000 + 2 * fold), size)
        x = resize(torch.cat([random_views(real[train], views), random_views(drawn, views)]), budget.image_size)
        y = torch.cat([torch.ones(len(train), 1), torch.zeros(len(train), 1)]).bool()  # (2 n_images, 1)
        classifier = train_classifier(x, y, ONE_LOGIT, budget)
        test_views = np.repeat(test, budget.test_views)
        fresh = as_float(fold_drawing([real_recipes[i] for i in test_views], seed * 1000 + 2 * fold + 1), size)
        x = resize(torch.cat([random_views(real[test_views], views), random_views(fresh, views)]), budget.image_size)
        with torch.inference_mode():
            s = torch.sigmoid(classifier(x))[:, 0]  # (2 T,): probability of "real"
        t = torch.cat([torch.ones(len(test_views)), torch.zeros(len(test_views))])
        scores.append(s)
        labels.append(t)
        per_fold.append({"test_photos": test.tolist(), "auc": roc_auc(s[t == 1], s[t == 0]),
                         "accuracy": float(((s >= 0.5).float() == t).float().mean())})
    s, t = torch.cat(scores), torch.cat(labels)
    return {"auc": roc_auc(s[t == 1], s[t == 0]), "accuracy": float(((s >= 0.5).float() == t).float().mean()),
            "per_fold": per_fold, "n_test": int(len(t)), "folds": folds, "size": size, "seed": seed, "budget": budget.as_dict()}


# --------------------------------------------------------------------------- CAS on real photos


def photo_f1(predicted: torch.Tensor, target: torch.Tensor, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> dict:
    """Readings (N, V) bool of photos against their recipes (N, V) bool: ``micro_f1`` over every decision,
    ``macro_f1`` the mean F1 over the ingredients the photos have (``metrics.per_ingredient``).

    ``chance_macro_f1`` and ``chance_micro_f1`` are what the same answers score when dealt to the photos
    at random (the expectation over permutations of the rows, exact): with n_i photos of ingredient i
    and q_i readings of it, E[F1_i] = 2 q_i n_i / (N (q_i + n_i)). A reader that sees nothing scores
    about its chance, however often it says yes (answering every ingredient for every photo scores
    far above a reader of the common ingredients); ``macro_f1 - chance_macro_f1`` is what was read.
    """
    predicted, target = torch.as_tensor(predicted).bool(), torch.as_tensor(target).bool()
    per = M.per_ingredient(predicted, target, vocabulary.ids)
    present = [v["f1"] for v in per.values() if v["support"] > 0]
    n, q, photos = target.sum(0).double(), predicted.sum(0).double(), len(target)  # (V,), (V,), N
    occurs = n > 0
    chance = 2 * q * n / (photos * (q + n)).clamp(min=1)  # (V,)
    return {"macro_f1": float(np.mean(present)) if present else 1.0, "micro_f1": M.recipe_f1(predicted, target)["micro_f1"],
            "chance_macro_f1": float(chance[occurs].mean()) if occurs.any() else 1.0,
            "chance_micro_f1": float(2 * (q * n).sum() / photos / (q + n).sum().clamp(min=1)), "ingredients": len(present)}


def precision_recall(predicted: torch.Tensor, target: torch.Tensor, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> dict:
    """Pooled precision and recall of (N, V) bool readings, and per ingredient what was found and falsely read."""
    tp, fp, fn = (predicted & target).sum(0), (predicted & ~target).sum(0), (~predicted & target).sum(0)
    per = {name: {"photos": int(target[:, v].sum()), "found": int(tp[v]), "false": int(fp[v])}
           for v, name in enumerate(vocabulary.ids) if target[:, v].any() or predicted[:, v].any()}
    return {"precision": float(tp.sum() / max(1, tp.sum() + fp.sum())),
            "recall": float(tp.sum() / max(1, tp.sum() + fn.sum())), "per_ingredient": per}


def _read_photos(classifier: IngredientClassifier, photos: np.ndarray) -> torch.Tensor:
    """(N, V) bool: which ingredients the classifier reads on uint8 photos (N, S, S, 3), at its own size."""
    with torch.inference_mode():
        _, probs = judge_images(classifier, as_float(photos))
    return probs >= THRESHOLD


def _cas_folds(classifier_for: Callable[[np.ndarray, int], IngredientClassifier], photos: ImagesLike,
               recipes: Sequence[Recipe], folds: int, budget: CASBudget, seed: int, vocabulary: Vocabulary) -> dict:
    """Per fold, ``classifier_for(train_indices, fold)`` reads the fold's held-out photos; scores pooled over
    all photos (each read once by its fold's classifier) and per fold."""
    photos, target = as_uint8(photos), presence(recipes, vocabulary)
    predicted, per_fold = torch.zeros_like(target), []
    for fold, test in enumerate(photo_folds(len(photos), folds, seed)):
        predicted[test] = _read_photos(classifier_for(_rest(len(photos), test), fold), photos[test])
        per_fold.append({"test_photos": test.tolist(), **photo_f1(predicted[test], target[test], vocabulary)})
    return {**photo_f1(predicted, target, vocabulary), "per_ingredient": M.per_ingredient(predicted, target, vocabulary.ids),
            "read": [[i for i, yes in zip(vocabulary.ids, p) if yes] for p in predicted.tolist()],  # per photo
            "per_fold": per_fold, "folds": folds, "seed": seed, "budget": budget.as_dict()}


def cas_on_photos(train_draw: FoldDraw, photos: ImagesLike, recipes: Sequence[Recipe], folds: int = 5,
                  budget: CASBudget = PHOTO_CAS_BUDGET, seed: int = 0, size: int = 64,
                  vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> dict:
    """CAS on real photos: per fold, ``draw = train_draw(training photo indices)`` draws ``budget.n_images``
    pizzas at ``size`` of ``kitchen_recipes(n_images, CAS_RECIPE_SEED)`` (draw seed ``seed * 1000``); a fresh
    classifier trained on them alone (``cas.train_classifier``) reads the fold's held-out photos (N, S, S, 3) uint8.
    When ``train_draw`` returns the very same draw for every fold (one that saw no photo: the clip-art
    kitchen, a model trained on it), that classifier is trained once and reads every fold.

    Returns ``photo_f1``'s scores (``macro_f1`` over the ingredients the photos have, ``micro_f1``, and
    their chance levels), ``per_ingredient``, what was ``read`` on each photo and ``per_fold``. A draw
    that teaches nothing reads the photos at chance.
    """
    sampled = kitchen_recipes(budget.n_images, CAS_RECIPE_SEED, vocabulary)
    labels, trained = presence(sampled, vocabulary), {}  # trained: the last draw and its classifier

    def classifier_for(train: np.ndarray, fold: int) -> IngredientClassifier:
        draw = train_draw(train)
        if trained.get("draw") is not draw:
            images = as_float(as_float(draw(sampled, seed * 1000), size), budget.image_size)
            trained.update(draw=draw, classifier=train_classifier(images, labels, vocabulary, budget))
        return trained["classifier"]

    return _cas_folds(classifier_for, photos, recipes, folds, budget, seed, vocabulary)


def cas_real_baseline(photos: ImagesLike, recipes: Sequence[Recipe], folds: int = 5, budget: CASBudget = PHOTO_CAS_BUDGET,
                      seed: int = 0, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> dict:
    """``cas_on_photos``'s classifier trained on ``budget.n_images`` random views (rotations, flips) of the
    fold's real training photos instead of drawn pizzas: what the photos alone teach (same folds, same scores)."""
    x = as_float(photos)

    def classifier_for(train: np.ndarray, fold: int) -> IngredientClassifier:
        views = torch.Generator().manual_seed(budget.seed * 1000 + seed * 100 + fold)
        train = _cycle(train, budget.n_images)
        images = resize(random_views(x[train], views), budget.image_size)
        return train_classifier(images, presence([recipes[i] for i in train], vocabulary), vocabulary, budget)

    return _cas_folds(classifier_for, photos, recipes, folds, budget, seed, vocabulary)


# --------------------------------------------------------------------------- the photo-domain judge


def train_photo_judge(draw: Draw, photos: ImagesLike, recipes: Sequence[Recipe], validate: Optional[Sequence[int]] = None,
                      budget: CASBudget = PHOTO_JUDGE_BUDGET, seed: int = 0, size: int = 64,
                      vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> tuple[IngredientClassifier, dict]:
    """An ingredient classifier trained on ``draw``'s pizzas (at ``size``) of ``kitchen_recipes(budget.n_images,
    JUDGE_RECIPE_SEED)``, and its reading of the photos ``validate`` (default: all; they must be photos the
    draw was not built from): ``photo_f1`` scores with ``per_ingredient``. The classifier is in eval mode."""
    sampled = kitchen_recipes(budget.n_images, JUDGE_RECIPE_SEED, vocabulary)
    judge = train_classifier(as_float(draw(sampled, seed), budget.image_size), presence(sampled, vocabulary), vocabulary, budget)
    photos = as_uint8(photos)
    validate = np.arange(len(photos)) if validate is None else np.asarray(validate, int)
    predicted, target = _read_photos(judge, photos[validate]), presence([recipes[i] for i in validate], vocabulary)
    return judge, {**photo_f1(predicted, target, vocabulary), "photos": validate.tolist(),
                   "per_ingredient": M.per_ingredient(predicted, target, vocabulary.ids), "budget": budget.as_dict()}


def read_menu(judge: IngredientClassifier, draw: Draw, n_single_samples: int = 8, n_held_out_samples: int = 8,
              seed: int = 0, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> dict:
    """How ``judge`` reads ``draw``'s pizzas, as ``protocol.evaluate_generator`` scores them: ``single_ingredient``
    (``n_single_samples`` pizzas of each ``single_ingredient_recipe``: share found, mean, how many are
    ``recognised`` on at least half) and ``held_out_recipes`` (micro/macro ``recipe_f1`` over
    ``n_held_out_samples`` pizzas of each ``HELD_OUT_RECIPES``)."""
    singles = [single_ingredient_recipe(i, vocabulary) for i in vocabulary.ids for _ in range(n_single_samples)]
    held_out = [r for r in HELD_OUT_RECIPES for _ in range(n_held_out_samples)]
    single = _read_photos(judge, draw(singles, seed * 100 + 3))
    held = _read_photos(judge, draw(held_out, seed * 100 + 2))
    return {"single_ingredient": single_ingredient_scores(single, n_single_samples, vocabulary),
            "held_out_recipes": M.recipe_f1(held, presence(held_out, vocabulary))}


def photo_judge(judge_draw: Draw, draw: Draw, photos: ImagesLike, recipes: Sequence[Recipe],
                validate: Optional[Sequence[int]] = None, budget: CASBudget = PHOTO_JUDGE_BUDGET, seed: int = 0,
                n_single_samples: int = 8, n_held_out_samples: int = 8, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> dict:
    """``train_photo_judge`` on ``judge_draw`` (validated on the photos ``validate``), then ``read_menu`` of ``draw``:
    ``{"validation", "single_ingredient", "held_out_recipes"}``."""
    judge, validation = train_photo_judge(judge_draw, photos, recipes, validate, budget, seed, vocabulary=vocabulary)
    return {"validation": validation, **read_menu(judge, draw, n_single_samples, n_held_out_samples, seed, vocabulary)}

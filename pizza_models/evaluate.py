"""Evaluation: how well generated pizzas follow their recipes, and how close they look to real ones.

No Inception network can be downloaded here, so the project brings its own judge: an
``IngredientClassifier`` trained only on kitchen renders with its own seed (``checkpoints/judge``).
Its logits say which ingredients a pizza shows; its pooled features stand in for Inception
features in the Frechet and kernel distances. A judge is only trusted if it recognises fresh
kitchen renders with a macro F1 of at least ``JUDGE_MIN_MACRO_F1`` (see ``judge_accuracy``).

The protocol (``evaluate_generator``; defaults in brackets, every count can be overridden)
--------------------------------------------------------------------------------------------
All recipes are fixed by protocol constants, so two models are always judged on the same
recipes; ``seed`` only picks the latents (one ``torch.Generator`` per section, seeded
``seed * 100 + section``; no global RNG state is read or changed). Kitchen renders made for the
evaluation use render seeds from ``RENDER_SEED`` (10**15) up: training renders use
``seed * 1_000_003 + i`` (``KitchenDataset``, any seed below 10**8) or draws below 2**31
(``KitchenStream``), so the evaluation never sees a training image. A pizza counts as showing an ingredient when the judge's
probability reaches 0.5; the truth is ``counts > 0`` (a double portion is just "present").

- ``train_recipes``: micro/macro F1 (``recipe_f1``) between the judge's reading of generated
  pizzas and the recipe asked for, over ``kitchen_recipes(n_train_recipes [64], EVAL_SEED)``
  (recipes like the training ones), ``n_per_recipe`` [4] latents each.
- ``held_out_recipes``: the same over the 16 ``HELD_OUT_RECIPES`` (combinations no training set
  contains), ``n_held_out_samples`` [8] latents each.
- ``single_ingredient``: for every ingredient, the share of its ``single_ingredient_recipe``
  pizzas (``n_single_samples`` [8] each) on which the judge finds that ingredient (``share``),
  their ``mean``, and how many ingredients are ``recognised`` on at least half of them (the
  original article's failure: only 3 of 28 came out).
- ``frechet`` and ``kid``: Frechet distance and kernel inception distance (the raw MMD^2, not
  scaled by 1000) between judge features of ``n_fid`` [512] generated pizzas, one per recipe
  of ``kitchen_recipes(n_fid, EVAL_SEED + 1)``, and of real pizzas: by default kitchen renders of
  the same recipes at the model's size; or given images (``real=``, e.g. the photos of a
  manifest, with ``real_recipes`` to generate their recipes instead). Both sets go through the
  same antialiased resize to the judge's size. ``frechet`` is null, with the reason in
  ``frechet_skipped``, when a set has no more images than the features have dimensions (20
  photos never suffice); KID works for small sets.
- ``diversity``: mean pairwise L2 distance between judge features of the ``n_per_recipe``
  pizzas drawn for each training recipe, averaged over recipes (0 = the latent is ignored).
- models with an encoder (CVAE) only, null otherwise, on ``n_recon`` [64] kitchen renders of
  ``kitchen_recipes(n_recon, EVAL_SEED + 2)``:
  ``reconstruction_psnr``: encode with the true recipe, decode the posterior mean, PSNR in dB;
  ``restyle_fidelity``: encode with the source recipe, decode with a target recipe that has one
  topping added or removed (``edit_recipe``, edits drawn with ``EVAL_SEED + 4``); micro/macro F1
  of the judge against the target, and ``edit_success``, the share of pizzas on which the judge
  sees the edited topping as the target has it.
- ``protocol``: the seeds, counts and sizes used, so that numbers are only compared like for like.

With the defaults a 64 x 64 model is judged on about 1,250 generated and 600 rendered pizzas,
a minute or two on a 2-core CPU.

Command line::

    python -m pizza_models.evaluate runs/cvae-modern-64 runs/gan-modern-64 --judge checkpoints/judge
    python -m pizza_models.evaluate runs/cvae-seed-32 --real ../shared/datasets/dodo20/recipes.csv --write
    python -m pizza_models.evaluate --judge-only checkpoints/judge
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, NamedTuple, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .recipe import DEFAULT_VOCABULARY, MAX_PORTIONS, TOPPING, Recipe, Vocabulary, encode, parse_recipe

# --------------------------------------------------------------------------- protocol constants

EVAL_SEED = 7_000  # recipes: +0 training-like, +1 FD/KID, +2 reconstruction, +3 judge test, +4 restyle edits
RENDER_SEED = 10**15  # first kitchen render seed of the evaluation; far above every training render seed
RENDER_STREAM = 10**7  # render seeds of section s start at RENDER_SEED + s * RENDER_STREAM
JUDGE_MIN_MACRO_F1 = 0.95  # a judge below this macro F1 on fresh kitchen renders may not grade models
JUDGE_TEST_SIZE = 64  # the judge is vetted at 64 x 64
THRESHOLD = 0.5  # probability at which the judge says "present"
BATCH_SIZE = 64
METRICS_NAME = "metrics.json"

# Sections of the protocol: one latent generator and one block of render seeds each.
TRAIN, HELD_OUT, SINGLE, FID, RECON, JUDGE_TEST = 1, 2, 3, 4, 5, 6

Images = torch.Tensor  # (B, 3, H, W) float in [-1, 1]


# --------------------------------------------------------------------------- metrics on tensors


def _ingredient_counts(predicted, target) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """True positives, false positives, false negatives per ingredient: three (V,) float64 tensors."""
    predicted, target = torch.as_tensor(predicted).bool(), torch.as_tensor(target).bool()
    if predicted.shape != target.shape or predicted.dim() != 2:
        raise ValueError(f"predicted and target must both be (N, V); got {tuple(predicted.shape)} and {tuple(target.shape)}")
    tp = (predicted & target).sum(0).double()
    fp = (predicted & ~target).sum(0).double()
    fn = (~predicted & target).sum(0).double()
    return tp, fp, fn


def recipe_f1(predicted, target) -> dict[str, float]:
    """Micro and macro F1 of predicted ingredient sets against the true ones.

    predicted, target: (N, V) bool, one row per pizza, one column per ingredient.
    micro_f1 pools every (pizza, ingredient) decision: 2TP / (2TP + FP + FN).
    macro_f1 averages the per-ingredient F1 over the ingredients that occur in the target or the
    prediction; an ingredient absent from both has no defined F1 and is left out (it would
    otherwise count as a free 1.0 or an unfair 0.0). When nothing occurs anywhere, both are 1.0:
    the prediction agrees with the target on every decision.
    """
    tp, fp, fn = _ingredient_counts(predicted, target)
    denominator = 2 * tp + fp + fn  # (V,); zero exactly when the ingredient occurs nowhere
    micro = 1.0 if denominator.sum() == 0 else float(2 * tp.sum() / denominator.sum())
    occurs = denominator > 0
    macro = float((2 * tp[occurs] / denominator[occurs]).mean()) if occurs.any() else 1.0
    return {"micro_f1": micro, "macro_f1": macro}


def _per_ingredient(predicted, target, ids: Sequence[str]) -> dict[str, dict]:
    """Precision, recall, F1 and support per ingredient id; a ratio with nothing to count is None."""
    tp, fp, fn = _ingredient_counts(predicted, target)

    def ratio(a: torch.Tensor, b: torch.Tensor) -> Optional[float]:
        return float(a / b) if b > 0 else None

    return {
        i: {"precision": ratio(tp[k], tp[k] + fp[k]), "recall": ratio(tp[k], tp[k] + fn[k]),
            "f1": ratio(2 * tp[k], 2 * tp[k] + fp[k] + fn[k]), "support": int(tp[k] + fn[k])}
        for k, i in enumerate(ids)
    }


def _features64(feats, name: str) -> torch.Tensor:
    x = torch.as_tensor(feats).detach().cpu().double()
    if x.dim() != 2:
        raise ValueError(f"{name} must be (N, F) features, got shape {tuple(x.shape)}")
    return x


def _sqrtm_psd(m: torch.Tensor) -> torch.Tensor:
    """Square root of a symmetric positive semi-definite matrix; tiny negative eigenvalues from
    rounding are clipped to 0, so a rank-deficient covariance is fine."""
    w, v = torch.linalg.eigh(m)
    return (v * w.clamp(min=0).sqrt()) @ v.T


def frechet_distance(feats_a, feats_b) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (N_a, F), (N_b, F); float64.

    d^2 = |mu_a - mu_b|^2 + tr(S_a) + tr(S_b) - 2 tr((S_a S_b)^(1/2)). The last trace is computed
    as the sum of square roots of the eigenvalues of the symmetric S_a^(1/2) S_b S_a^(1/2) (same
    spectrum as S_a S_b), so no complex square root and no blow-up for near-singular covariances.
    Rounding can leave a result a hair below 0 for identical sets; it is clipped to 0.

    Raises ValueError when either set has no more images than feature dimensions.
    """
    a, b = _features64(feats_a, "feats_a"), _features64(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} and {b.shape[1]}")
    d = a.shape[1]
    if min(len(a), len(b)) <= d:
        raise ValueError(
            f"Frechet distance needs more images than feature dimensions: got {len(a)} and {len(b)} "
            f"images of {d}-dimensional features. A covariance estimated from n images has rank at "
            f"most n - 1, so with n <= {d} it is singular and the distance mostly measures the "
            f"shortage (the 20 real photos alone are never enough). Use more images, or the kernel "
            f"inception distance (kernel_inception_distance), which is unbiased for small sets."
        )
    mu_a, mu_b = a.mean(0), b.mean(0)  # (F,)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)  # (F, F), unbiased (n - 1)
    root_a = _sqrtm_psd(cov_a)
    middle = root_a @ cov_b @ root_a
    middle = (middle + middle.T) / 2  # symmetric up to rounding; make it exactly so for eigvalsh
    trace_root = torch.linalg.eigvalsh(middle).clamp(min=0).sqrt().sum()
    distance = (mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * trace_root
    return max(float(distance), 0.0)


def kernel_inception_distance(feats_a, feats_b, subsets: int = 100, subset_size: int = 256, seed: int = 0) -> float:
    """Kernel inception distance (Binkowski et al. 2018): unbiased MMD^2 with k(x, y) = (x.y / d + 1)^3.

    feats_a (N_a, F), feats_b (N_b, F). The estimate is averaged over ``subsets`` random subsets
    of ``min(subset_size, N_a, N_b)`` images from each set (drawn with a ``torch.Generator``
    seeded ``seed``); when that size is both full sets, one exact estimate is returned. Being
    unbiased it can be slightly negative; 0 means same distribution. Needs 2 images a set.
    """
    a, b = _features64(feats_a, "feats_a"), _features64(feats_b, "feats_b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} and {b.shape[1]}")
    m = min(subset_size, len(a), len(b))
    if m < 2:
        raise ValueError(f"KID needs at least 2 images per set, got {len(a)} and {len(b)}")
    if m == len(a) == len(b):
        subsets = 1  # every subset would be the whole set
    d = a.shape[1]
    generator = torch.Generator().manual_seed(seed)
    estimates = []
    for _ in range(subsets):
        x = a[torch.randperm(len(a), generator=generator)[:m]]  # (m, F)
        y = b[torch.randperm(len(b), generator=generator)[:m]]  # (m, F)
        k_xx, k_yy, k_xy = ((p @ q.T / d + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))  # (m, m) each
        # Unbiased: the within-set sums leave out k(x_i, x_i).
        mmd = ((k_xx.sum() - k_xx.trace()) + (k_yy.sum() - k_yy.trace())) / (m * (m - 1)) - 2 * k_xy.mean()
        estimates.append(mmd)
    return float(torch.stack(estimates).mean())


def diversity(feats_per_recipe) -> float:
    """Mean pairwise L2 distance between features of images drawn for the same recipe, averaged over recipes.

    feats_per_recipe: a (R, K, F) tensor or a sequence of R (K_r, F) tensors, K_r >= 2. Every
    unordered pair counts once. 0 when each recipe's images are identical.
    """
    means = []
    for feats in feats_per_recipe:
        x = _features64(feats, "features of one recipe")
        if len(x) < 2:
            raise ValueError(f"diversity needs at least 2 images per recipe, got {len(x)}")
        distances = torch.cdist(x, x)  # (K, K), zero diagonal
        means.append(distances.sum() / (len(x) * (len(x) - 1)))
    if not means:
        raise ValueError("diversity needs at least one recipe")
    return float(torch.stack(means).mean())


def psnr(a: Images, b: Images) -> float:
    """Peak signal-to-noise ratio in dB of images in [-1, 1] (peak-to-peak 2): 10 log10(4 / MSE).

    The mean squared error runs over every pixel of the whole set, so a set scores as one image.
    Identical images give ``inf`` (``to_json`` writes it as null).
    """
    if a.shape != b.shape:
        raise ValueError(f"PSNR needs images of one shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    mse = float((a.double() - b.double()).square().mean())
    return math.inf if mse == 0 else 10 * math.log10(4.0 / mse)


# --------------------------------------------------------------------------- images in, judgements out


@contextmanager
def _eval_mode(*modules) -> Iterator[None]:
    """Put modules in eval mode (dropout off, batch-norm running statistics) and restore them after."""
    states = [(m, m.training) for m in modules if isinstance(m, nn.Module)]
    for m, _ in states:
        m.eval()
    try:
        yield
    finally:
        for m, training in states:
            m.train(training)


def _device_of(module, device) -> torch.device:
    if device is not None:
        return torch.device(device)
    parameter = next(module.parameters(), None) if isinstance(module, nn.Module) else None
    return parameter.device if parameter is not None else torch.device("cpu")


def _judge_size(judge, judge_size: Optional[int]) -> Optional[int]:
    """The side the judge expects: ``judge_size`` if given, else its config's, else None (any)."""
    return judge_size or getattr(getattr(judge, "config", None), "image_size", None)


def resize(images: Images, size: Optional[int]) -> Images:
    """(B, 3, H, W) -> (B, 3, size, size), bicubic with antialiasing (as ``data.to_tensor``), clamped to [-1, 1]."""
    if size is None or images.shape[-1] == size and images.shape[-2] == size:
        return images
    return F.interpolate(images, size=(size, size), mode="bicubic", antialias=True, align_corners=False).clamp(-1, 1)


def judge_images(judge, images: Images, judge_size: Optional[int] = None, device=None,
                 batch_size: int = BATCH_SIZE) -> tuple[torch.Tensor, torch.Tensor]:
    """Judge features (N, F) and ingredient probabilities (N, V), both float32 on the CPU.

    ``judge`` is anything with ``features(x) -> (B, F)`` and ``judge(x) -> (B, V)`` logits on
    images at ``judge_size`` (its config's image size by default); images are resized to it.
    """
    from .classifier import IngredientClassifier

    size, device = _judge_size(judge, judge_size), _device_of(judge, device)
    feats, probs = [], []
    for batch in images.split(batch_size):
        x = resize(batch.to(device).float(), size)
        f = judge.features(x)  # (B, F)
        # The classifier's logits are its head on these features (dropout is off in eval mode):
        # reuse them instead of running the conv stack twice.
        logits = judge.head(f) if isinstance(judge, IngredientClassifier) else judge(x)  # (B, V)
        feats.append(f.float().cpu())
        probs.append(torch.sigmoid(logits).float().cpu())
    return torch.cat(feats), torch.cat(probs)


def render(recipes: Sequence[Recipe], size: int, first_seed: int, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> Images:
    """Kitchen renders of ``recipes`` with seeds ``first_seed + i``: (N, 3, size, size) in [-1, 1]."""
    from .data import to_tensor
    from .kitchen import Kitchen

    kitchen = Kitchen(vocabulary)
    return torch.stack([to_tensor(kitchen.render(r, first_seed + i, size), size) for i, r in enumerate(recipes)])


def presence(recipes: Sequence[Recipe], vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> torch.Tensor:
    """(N, V) bool: which ingredients each recipe has (``counts > 0``)."""
    return torch.stack([encode(r, "counts", vocabulary) > 0 for r in recipes])


def generate(model, recipes: Sequence[Recipe], latent_seed: int, device=None, batch_size: int = BATCH_SIZE) -> Images:
    """One pizza per recipe from ``model`` (a model that ``draws``: ``sample_latent``, ``draw`` and a
    ``config`` giving ``encoding`` and ``vocabulary``): (N, 3, H, W) on the CPU.

    Latents come from a CPU ``torch.Generator`` seeded ``latent_seed``, so the images do not
    depend on the device or on any global RNG state.
    """
    device = _device_of(model, device)
    codes = torch.stack([encode(r, model.config.encoding, model.config.vocabulary) for r in recipes])  # (N, cond)
    z = model.sample_latent(len(recipes), generator=torch.Generator().manual_seed(latent_seed), device="cpu")  # (N, latent)
    images = [
        model.draw(z_batch.to(device), c_batch.to(device)).float().clamp(-1, 1).cpu()
        for z_batch, c_batch in zip(z.split(batch_size), codes.split(batch_size))
    ]
    return torch.cat(images)


def edit_recipe(recipe: Recipe, rng: np.random.Generator, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> tuple[Recipe, str]:
    """The recipe with one topping added or removed (a coin flip where both are possible): (target, topping id).

    A removed topping goes with all its portions; an added one is a single portion. Sauces, cheese
    and drizzles are never touched, and a recipe is never emptied or pushed past 9 portions.
    """
    toppings = [i.id for i in vocabulary if i.kind == TOPPING]
    present = [t for t in toppings if t in recipe.ingredients]
    absent = [t for t in toppings if t not in recipe.ingredients]
    can_remove = bool(present) and len(recipe.ingredients) > 1
    can_add = bool(absent) and len(recipe) < MAX_PORTIONS
    if not (can_remove or can_add):
        raise ValueError(f"no topping can be added to or removed from {recipe}")
    if can_remove and (not can_add or rng.random() < 0.5):
        topping = present[rng.integers(len(present))]
        return parse_recipe([p for p in recipe.portions if p != topping], vocabulary), topping
    topping = absent[rng.integers(len(absent))]
    return parse_recipe(list(recipe.portions) + [topping], vocabulary), topping


# --------------------------------------------------------------------------- the judge's own accuracy


@torch.inference_mode()
def judge_accuracy(judge, n: int = 512, size: Optional[int] = None, seed: int = EVAL_SEED + 3,
                   device=None, batch_size: int = BATCH_SIZE) -> dict:
    """How well a classifier reads fresh kitchen renders: per-ingredient precision/recall/F1, micro/macro F1.

    ``n`` recipes from ``sample_recipe(np.random.default_rng(seed), include_held_out=True)``,
    rendered at ``size`` (default: the judge's own image size, else 64) with render seeds
    ``RENDER_SEED + JUDGE_TEST * RENDER_STREAM + i``, none of which any training run uses.
    """
    from .kitchen import sample_recipe

    vocabulary = getattr(getattr(judge, "config", None), "vocabulary", DEFAULT_VOCABULARY)
    size = size or _judge_size(judge, None) or JUDGE_TEST_SIZE
    rng = np.random.default_rng(seed)
    recipes = [sample_recipe(rng, vocabulary, include_held_out=True) for _ in range(n)]
    images = render(recipes, size, RENDER_SEED + JUDGE_TEST * RENDER_STREAM, vocabulary)
    with _eval_mode(judge):
        _, probs = judge_images(judge, images, device=device, batch_size=batch_size)
    predicted, target = probs >= THRESHOLD, presence(recipes, vocabulary)
    return {
        **recipe_f1(predicted, target),
        "per_ingredient": _per_ingredient(predicted, target, vocabulary.ids),
        "protocol": {"n": n, "size": size, "recipe_seed": seed,
                     "render_seed": RENDER_SEED + JUDGE_TEST * RENDER_STREAM, "threshold": THRESHOLD},
    }


# --------------------------------------------------------------------------- the generator protocol


def _vocabulary_check(model, judge) -> Vocabulary:
    vocabulary = model.config.vocabulary
    judge_vocabulary = getattr(getattr(judge, "config", None), "vocabulary", None)
    if judge_vocabulary is not None and judge_vocabulary.ids != vocabulary.ids:
        raise ValueError(
            f"the judge reads {len(judge_vocabulary)} ingredients ({', '.join(judge_vocabulary.ids[:4])}, ...) "
            f"but the model draws {len(vocabulary)} ({', '.join(vocabulary.ids[:4])}, ...): "
            f"a judge must share the model's vocabulary, in the same order"
        )
    return vocabulary


class _Run(NamedTuple):
    """Where and how the protocol's sections run."""

    device: torch.device
    judge_size: Optional[int]
    batch_size: int


def _judge(judge, images: Images, run: _Run) -> tuple[torch.Tensor, torch.Tensor]:
    return judge_images(judge, images, run.judge_size, run.device, run.batch_size)


def _fidelity(model, judge, recipes: Sequence[Recipe], latent_seed: int, vocabulary: Vocabulary,
              run: _Run) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """Generate one pizza per recipe, judge it: (recipe_f1 dict, features (N, F), predicted (N, V) bool)."""
    images = generate(model, recipes, latent_seed, run.device, run.batch_size)
    feats, probs = _judge(judge, images, run)
    predicted = probs >= THRESHOLD
    return recipe_f1(predicted, presence(recipes, vocabulary)), feats, predicted


@torch.inference_mode()
def evaluate_generator(
    model,
    judge,
    *,
    n_train_recipes: int = 64,
    n_per_recipe: int = 4,
    n_held_out_samples: int = 8,
    n_single_samples: int = 8,
    n_fid: int = 512,
    n_recon: int = 64,
    kid_subsets: int = 100,
    kid_subset_size: int = 256,
    seed: int = 0,
    real: Optional[Images] = None,
    real_recipes: Optional[Sequence[Recipe]] = None,
    judge_size: Optional[int] = None,
    device=None,
    batch_size: int = BATCH_SIZE,
) -> dict:
    """The fixed evaluation protocol of the module docstring; returns a dict with stable keys.

    model: any model that ``draws`` (a CVAE, a GAN ``Generator``, a layered model) and has
    ``sample_latent`` and a ``config`` with ``encoding``, ``vocabulary`` and ``image_size``; an
    ``encode(x, cond) -> (mu, logvar)`` method enables the reconstruction and restyle metrics.
    judge: anything with ``features(x)`` and ``judge(x)`` logits (see ``judge_images``).
    real: (N, 3, H, W) images in [-1, 1] to compare with instead of fresh kitchen renders; then
    ``real_recipes`` (optional) are the recipes generated for the comparison, cycled to ``n_fid``.
    device: where to run (default: where the model's parameters are).
    """
    from .data import kitchen_recipes
    from .kitchen import HELD_OUT_RECIPES, single_ingredient_recipe

    vocabulary = _vocabulary_check(model, judge)
    size = model.config.image_size
    run = _Run(_device_of(model, device), _judge_size(judge, judge_size), batch_size)
    metrics: dict = {}
    with _eval_mode(model, judge):
        # Training-like recipes, n_per_recipe latents each: recipe i's samples are rows i*K .. i*K+K-1.
        recipes = kitchen_recipes(n_train_recipes, EVAL_SEED, vocabulary)
        repeated = [r for r in recipes for _ in range(n_per_recipe)]
        metrics["train_recipes"], feats, _ = _fidelity(model, judge, repeated, seed * 100 + TRAIN, vocabulary, run)
        metrics["diversity"] = diversity(feats.view(n_train_recipes, n_per_recipe, -1)) if n_per_recipe > 1 else None

        repeated = [r for r in HELD_OUT_RECIPES for _ in range(n_held_out_samples)]
        metrics["held_out_recipes"], _, _ = _fidelity(model, judge, repeated, seed * 100 + HELD_OUT, vocabulary, run)

        singles = [single_ingredient_recipe(i, vocabulary) for i in vocabulary.ids]
        repeated = [r for r in singles for _ in range(n_single_samples)]
        _, _, predicted = _fidelity(model, judge, repeated, seed * 100 + SINGLE, vocabulary, run)
        found = predicted.view(len(singles), n_single_samples, -1).float().mean(1)  # (V recipes, V ingredients)
        share = found.diagonal()  # (V,): ingredient i found on its own pizza
        metrics["single_ingredient"] = {
            "share": dict(zip(vocabulary.ids, share.tolist())),
            "mean": float(share.mean()),
            "recognised": int((share >= 0.5).sum()),
            "ingredients": len(vocabulary),
        }

        metrics.update(_distances(model, judge, real, real_recipes, n_fid, kid_subsets, kid_subset_size, seed,
                                  vocabulary, run))
        metrics.update(_encoder_metrics(model, judge, n_recon, vocabulary, run))

    metrics["protocol"] = {
        "seed": seed, "eval_seed": EVAL_SEED, "render_seed": RENDER_SEED, "render_stream": RENDER_STREAM,
        "threshold": THRESHOLD, "image_size": size, "judge_size": run.judge_size,
        "n_train_recipes": n_train_recipes, "n_per_recipe": n_per_recipe,
        "held_out_recipes": len(HELD_OUT_RECIPES), "n_held_out_samples": n_held_out_samples,
        "n_single_samples": n_single_samples, "n_fid": n_fid, "n_recon": n_recon,
        "kid_subsets": kid_subsets, "kid_subset_size": kid_subset_size,
        "real": "kitchen" if real is None else f"{len(real)} given images",
    }
    return metrics


def _distances(model, judge, real, real_recipes, n_fid, kid_subsets, kid_subset_size, seed, vocabulary, run: _Run) -> dict:
    """FD and KID between judge features of generated and real pizzas (see the module docstring)."""
    from .data import kitchen_recipes

    if real is not None and real_recipes:
        recipes = [real_recipes[i % len(real_recipes)] for i in range(n_fid)]
    else:
        recipes = kitchen_recipes(n_fid, EVAL_SEED + 1, vocabulary)
    fake_feats, _ = _judge(judge, generate(model, recipes, seed * 100 + FID, run.device, run.batch_size), run)
    if real is None:
        # Rendered at the model's size, so that real and generated images take the same resize to the judge.
        real = render(recipes, model.config.image_size, RENDER_SEED + FID * RENDER_STREAM, vocabulary)
    real_feats, _ = _judge(judge, real, run)
    try:
        frechet, skipped = frechet_distance(fake_feats, real_feats), None
    except ValueError as error:
        frechet, skipped = None, str(error)
    return {"frechet": frechet, "frechet_skipped": skipped,
            "kid": kernel_inception_distance(fake_feats, real_feats, kid_subsets, kid_subset_size, seed)}


def _encoder_metrics(model, judge, n_recon, vocabulary, run: _Run) -> dict:
    """Reconstruction PSNR and restyle fidelity for models with an encoder; nulls otherwise."""
    from .data import kitchen_recipes

    if not getattr(model, "encodes", False) or n_recon == 0:
        return {"reconstruction_psnr": None, "restyle_fidelity": None}
    device, batch_size = run.device, run.batch_size
    sources = kitchen_recipes(n_recon, EVAL_SEED + 2, vocabulary)
    rng = np.random.default_rng(EVAL_SEED + 4)
    targets, edited = zip(*(edit_recipe(r, rng, vocabulary) for r in sources))
    x = render(sources, model.config.image_size, RENDER_SEED + RECON * RENDER_STREAM, vocabulary)  # (N, 3, H, W)
    encoding = model.config.encoding
    source_codes = torch.stack([encode(r, encoding, vocabulary) for r in sources])
    target_codes = torch.stack([encode(r, encoding, vocabulary) for r in targets])
    recon, restyled = [], []
    for xb, sb, tb in zip(x.split(batch_size), source_codes.split(batch_size), target_codes.split(batch_size)):
        # noise 0: the faithful reading of the picture, no sampling
        r, t = model.restyle(xb.to(device), sb.to(device), tb.to(device), 0.0, torch.Generator().manual_seed(0))
        recon.append(r.float().clamp(-1, 1).cpu())
        restyled.append(t.float().clamp(-1, 1).cpu())
    _, probs = _judge(judge, torch.cat(restyled), run)
    predicted, target = probs >= THRESHOLD, presence(targets, vocabulary)
    columns = torch.tensor([vocabulary.index(t) for t in edited])  # (N,): the edited topping of each pizza
    rows = torch.arange(len(targets))
    success = (predicted[rows, columns] == target[rows, columns]).float().mean()
    return {"reconstruction_psnr": psnr(torch.cat(recon), x),
            "restyle_fidelity": {**recipe_f1(predicted, target), "edit_success": float(success)}}


# --------------------------------------------------------------------------- reports


def _plain(value):
    """JSON-ready copy: tensors and numpy scalars to Python, floats rounded to 4 decimals, inf/nan to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (torch.Tensor, np.ndarray, np.generic)):
        return _plain(value.tolist())
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else None
    return value


def to_json(metrics: dict) -> str:
    """Metrics as JSON: sorted keys, floats rounded to 4 decimals, non-finite numbers as null."""
    return json.dumps(_plain(metrics), sort_keys=True, indent=2, allow_nan=False, ensure_ascii=False)


DETAILS = ("protocol", "per_ingredient", "share")  # left out of the compact table; they stay in the JSON


def _rows(metrics: dict, prefix: str = "") -> Iterator[tuple[str, object]]:
    for key, value in metrics.items():
        if key in DETAILS:
            continue
        if isinstance(value, dict):
            yield from _rows(value, f"{prefix}{key}.")
        elif value is not None:  # a metric a model has no use for (no encoder, too few photos) is a blank cell
            yield f"{prefix}{key}", value


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else str(value)
    return str(value)


def to_markdown(*metrics: dict, names: Sequence[str] = ()) -> str:
    """A compact Markdown table of one or more metrics dicts, one column each (headed by ``names``).

    Nested keys are joined with dots; per-ingredient details and the protocol are left out, and
    text values (such as why the Frechet distance was skipped) become notes under the table.
    """
    names = list(names) or (["value"] if len(metrics) == 1 else [f"model {i + 1}" for i in range(len(metrics))])
    columns = [dict(_rows(m)) for m in metrics]
    keys = list(dict.fromkeys(k for c in columns for k, v in c.items() if not isinstance(v, str)))
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines += [f"| {k} | " + " | ".join(_cell(c.get(k)) for c in columns) + " |" for k in keys]
    notes = [f"- {name}: {k}: {v}" for name, c in zip(names, columns) for k, v in c.items() if isinstance(v, str)]
    return "\n".join(lines + ([""] + notes if notes else []))


def write_metrics(folder: Union[str, Path], metrics: dict) -> Path:
    """Write ``metrics.json`` into a checkpoint folder (atomically: a killed run leaves the old file whole)."""
    path = Path(folder) / METRICS_NAME
    with tempfile.NamedTemporaryFile("w", dir=folder, prefix=".metrics-", suffix=".json", delete=False,
                                     encoding="utf-8") as f:
        f.write(to_json(metrics) + "\n")
    os.replace(f.name, path)
    return path


# --------------------------------------------------------------------------- command line


def load_checkpoint(folder: Union[str, Path], device: str = "cpu") -> nn.Module:
    """A local checkpoint folder as a model of its family (cvae, gan generator or classifier), in eval mode."""
    from .hub import CheckpointError
    from .pipeline import load

    if not Path(folder).is_dir():
        raise CheckpointError(f"{folder}: no such checkpoint folder")
    return load(folder, device)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m pizza_models.evaluate", description=__doc__.split("\n\n")[0],
        epilog="Prints a Markdown table, one column per checkpoint (the protocol is in the module docstring).",
    )
    p.add_argument("checkpoints", nargs="*", type=Path, help="checkpoint folders: cvae, gan or classifier")
    p.add_argument("--judge", type=Path, default=Path("checkpoints/judge"),
                   help="the judge classifier (default checkpoints/judge)")
    p.add_argument("--judge-only", type=Path, metavar="JUDGE",
                   help=f"only report this judge's accuracy on fresh kitchen renders; "
                        f"exit 2 if its macro F1 < {JUDGE_MIN_MACRO_F1}")
    p.add_argument("--no-judge-check", action="store_true", help="judge models even with a judge below the accuracy bar")
    p.add_argument("--real", default="kitchen",
                   help="real pizzas for FD/KID: 'kitchen' renders (default) or a manifest CSV "
                        "such as ../shared/datasets/dodo20/recipes.csv")
    p.add_argument("--n-fid", type=int, default=512, help="generated (and rendered) pizzas for FD/KID (default 512)")
    p.add_argument("--seed", type=int, default=0, help="latent seed (recipes are fixed by the protocol)")
    p.add_argument("--write", action="store_true", help=f"write {METRICS_NAME} into each checkpoint folder")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    return p.parse_args(argv)


def _judge_refusal(accuracy: dict) -> Optional[str]:
    """Why a judge with this ``judge_accuracy`` may not grade models, or None if it may."""
    if accuracy["macro_f1"] >= JUDGE_MIN_MACRO_F1:
        return None
    return (f"the judge reads fresh kitchen renders with macro F1 {accuracy['macro_f1']:.3f} < {JUDGE_MIN_MACRO_F1}: "
            f"too unreliable to grade models (train it longer)")


def main(argv=None) -> int:
    from .data import ManifestError, PhotoDataset
    from .hub import CheckpointError

    args = parse_args(argv)
    if not args.checkpoints and args.judge_only is None:
        print("error: give checkpoint folders to evaluate, or --judge-only JUDGE", file=sys.stderr)
        return 1
    try:
        if args.judge_only is not None:
            judge = load_checkpoint(args.judge_only, args.device)
            accuracy = judge_accuracy(judge, size=JUDGE_TEST_SIZE, device=args.device)
            print(to_json(accuracy) if args.json else to_markdown(accuracy, names=[str(args.judge_only)]))
            if args.write:
                write_metrics(args.judge_only, accuracy)
            refusal = _judge_refusal(accuracy)
            if refusal:
                print(f"error: {refusal}", file=sys.stderr)
            return 2 if refusal else 0

        models = [load_checkpoint(folder, args.device) for folder in args.checkpoints]
        judge, judge_macro_f1 = None, None
        if any(m.family != "classifier" for m in models):
            judge = load_checkpoint(args.judge, args.device)
            if judge.family != "classifier":
                raise CheckpointError(f"{args.judge}: a {judge.family!r} checkpoint, not a classifier")
            if not args.no_judge_check:
                accuracy = judge_accuracy(judge, size=JUDGE_TEST_SIZE, device=args.device)
                judge_macro_f1, refusal = accuracy["macro_f1"], _judge_refusal(accuracy)
                if refusal:
                    print(f"error: {refusal}; --no-judge-check overrides", file=sys.stderr)
                    return 2
        real = real_recipes = None
        if args.real != "kitchen" and judge is not None:
            photos = PhotoDataset(args.real, image_size=judge.config.image_size, vocabulary=judge.config.vocabulary)
            real, real_recipes = photos.images, photos.recipes

        results = []
        for folder, model in zip(args.checkpoints, models):
            if model.family == "classifier":
                metrics = judge_accuracy(model, device=args.device)
            else:
                metrics = evaluate_generator(model, judge, n_fid=args.n_fid, seed=args.seed, real=real,
                                             real_recipes=real_recipes, device=args.device)
                metrics["protocol"].update(judge=str(args.judge), judge_macro_f1=judge_macro_f1,
                                           real=args.real if real is not None else "kitchen")
            results.append(metrics)
            if args.write:
                write_metrics(folder, metrics)
    except (CheckpointError, ManifestError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(to_json(dict(zip(map(str, args.checkpoints), results))))
    else:
        print(to_markdown(*results, names=[str(c) for c in args.checkpoints]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

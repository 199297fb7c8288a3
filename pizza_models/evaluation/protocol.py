"""The evaluation protocol: fixed recipes, seeds and counts, and running a model (or the kitchen) through them.

The protocol is described in ``pizza_models.evaluation.evaluate``'s docstring; the maths is in
``pizza_models.evaluation.metrics``. Every model is used through one interface only: ``draws = True``,
``sample_latent(n, generator=, scale=, device=)``, ``draw(z, codes) -> (B, 3, H, W)`` in [-1, 1], a
``config`` with ``encoding``, ``vocabulary`` and ``image_size``; and, where ``encodes`` is True,
``restyle(x, source_codes, target_codes, noise, generator) -> (reconstruction, restyled)``.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, NamedTuple, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import metrics as M
from .cas import CAS_BUDGET, CASBudget, train_classifier
from ..data import kitchen_recipes, to_tensor
from ..kitchen.procedural import Kitchen
from ..recipe_sampler import HELD_OUT_RECIPES, sample_recipe, single_ingredient_recipe
from ..recipe import DEFAULT_VOCABULARY, MAX_PORTIONS, TOPPING, Recipe, Vocabulary, encode, parse_recipe

EVAL_SEED = 7_000  # recipes: +0 training-like, +1 FD/KID, +2 reconstruction, +3 judge test, +4 restyle edits, +5 CAS
RENDER_SEED = 10**15  # first kitchen render seed of the evaluation; far above every training render seed
RENDER_STREAM = 10**7  # render seeds of section s start at RENDER_SEED + s * RENDER_STREAM
JUDGE_MIN_MACRO_F1 = 0.95  # a judge below this macro F1 on fresh kitchen renders may not grade models
JUDGE_TEST_SIZE = 64  # the judge is vetted at 64 x 64
THRESHOLD = 0.5  # probability at which the judge says "present"
BATCH_SIZE = 64

# Sections of the protocol: one latent generator and one block of render seeds each.
TRAIN, HELD_OUT, SINGLE, FID, RECON, JUDGE_TEST, KITCHEN, CAS = 1, 2, 3, 4, 5, 6, 7, 8

Images = torch.Tensor  # (B, 3, H, W) float in [-1, 1]


# --------------------------------------------------------------------------- images in, judgements out


@contextmanager
def eval_mode(*modules) -> Iterator[None]:
    """Put modules in eval mode (dropout off, batch-norm running statistics) and restore them after."""
    states = [(m, m.training) for m in modules if isinstance(m, nn.Module)]
    for m, _ in states:
        m.eval()
    try:
        yield
    finally:
        for m, training in states:
            m.train(training)


def device_of(module, device=None) -> torch.device:
    """``device`` if given, else where the module's parameters are, else the CPU."""
    if device is not None:
        return torch.device(device)
    parameter = next(module.parameters(), None) if isinstance(module, nn.Module) else None
    return parameter.device if parameter is not None else torch.device("cpu")


def judge_size_of(judge, judge_size: Optional[int] = None) -> Optional[int]:
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
    size, device = judge_size_of(judge, judge_size), device_of(judge, device)
    feats, probs = [], []
    for batch in images.split(batch_size):
        x = resize(batch.to(device).float(), size)
        f = judge.features(x)  # (B, F)
        # A classifier's logits are its head on these features (dropout is off in eval mode):
        # reuse them instead of running the conv stack twice.
        logits = judge.head(f) if getattr(judge, "classifies", False) else judge(x)  # (B, V)
        feats.append(f.float().cpu())
        probs.append(torch.sigmoid(logits).float().cpu())
    return torch.cat(feats), torch.cat(probs)


def render(recipes: Sequence[Recipe], size: int, first_seed: int, vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> Images:
    """Kitchen renders of ``recipes`` with seeds ``first_seed + i``: (N, 3, size, size) in [-1, 1]."""
    kitchen = Kitchen(vocabulary)
    return torch.stack([to_tensor(kitchen.render(r, first_seed + i, size), size) for i, r in enumerate(recipes)])


def presence(recipes: Sequence[Recipe], vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> torch.Tensor:
    """(N, V) bool: which ingredients each recipe has (``counts > 0``)."""
    return torch.stack([encode(r, "counts", vocabulary) > 0 for r in recipes])


def generate(model, recipes: Sequence[Recipe], latent_seed: int, device=None, batch_size: int = BATCH_SIZE,
             bar: Optional[tqdm] = None) -> Images:
    """One pizza per recipe from ``model`` (a model that ``draws``): (N, 3, H, W) on the CPU.

    Latents come from a CPU ``torch.Generator`` seeded ``latent_seed``, so the images do not
    depend on the device or on any global RNG state. ``bar`` advances by one per pizza.
    """
    device = device_of(model, device)
    codes = torch.stack([encode(r, model.config.encoding, model.config.vocabulary) for r in recipes])  # (N, cond)
    z = model.sample_latent(len(recipes), generator=torch.Generator().manual_seed(latent_seed), device="cpu")  # (N, latent)
    images = []
    for z_batch, c_batch in zip(z.split(batch_size), codes.split(batch_size)):
        images.append(model.draw(z_batch.to(device), c_batch.to(device)).float().clamp(-1, 1).cpu())
        if bar is not None:
            bar.update(len(z_batch))
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
    vocabulary = getattr(getattr(judge, "config", None), "vocabulary", DEFAULT_VOCABULARY)
    size = size or judge_size_of(judge) or JUDGE_TEST_SIZE
    rng = np.random.default_rng(seed)
    recipes = [sample_recipe(rng, vocabulary, include_held_out=True) for _ in range(n)]
    images = render(recipes, size, RENDER_SEED + JUDGE_TEST * RENDER_STREAM, vocabulary)
    with eval_mode(judge):
        _, probs = judge_images(judge, images, device=device, batch_size=batch_size)
    predicted, target = probs >= THRESHOLD, presence(recipes, vocabulary)
    return {
        **M.recipe_f1(predicted, target),
        "per_ingredient": M.per_ingredient(predicted, target, vocabulary.ids),
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
    """Where and how the protocol's sections run, and who judges: (judge, its image size) pairs, the first is primary."""

    device: torch.device
    judges: tuple[tuple[object, Optional[int]], ...]
    batch_size: int
    progress: bool


def _bar(run: _Run, desc: str, total: int) -> tqdm:
    return tqdm(total=total, desc=desc, unit="pizza", disable=not run.progress, leave=False, dynamic_ncols=True)


@dataclass
class _Readings:
    """One section's judgements: the primary judge's features (N, F), and each judge's (N, V) bool reading."""

    feats: torch.Tensor
    predicted: list[torch.Tensor] = field(default_factory=list)


def _read(images: Images, run: _Run) -> _Readings:
    readings = None
    for judge, size in run.judges:
        feats, probs = judge_images(judge, images, size, run.device, run.batch_size)
        readings = readings or _Readings(feats)
        readings.predicted.append(probs >= THRESHOLD)
    return readings


def _draw_and_read(model, recipes: Sequence[Recipe], latent_seed: int, run: _Run, desc: str) -> tuple[Images, _Readings]:
    with _bar(run, desc, len(recipes)) as bar:
        images = generate(model, recipes, latent_seed, run.device, run.batch_size, bar)
    return images, _read(images, run)


@torch.inference_mode()
def evaluate_generator(
    model,
    judge,
    *,
    second_judge=None,
    n_train_recipes: int = 64,
    n_per_recipe: int = 4,
    n_held_out_samples: int = 8,
    n_single_samples: int = 8,
    n_fid: int = 512,
    n_recon: int = 64,
    kid_subsets: int = 100,
    kid_subset_size: int = 256,
    cas: Optional[CASBudget] = CAS_BUDGET,
    seed: int = 0,
    real: Optional[Images] = None,
    real_recipes: Optional[Sequence[Recipe]] = None,
    judge_size: Optional[int] = None,
    device=None,
    batch_size: int = BATCH_SIZE,
    progress: bool = False,
) -> dict:
    """The fixed evaluation protocol of ``pizza_models.evaluation.evaluate``'s docstring; returns a dict with stable keys.

    model: anything that ``draws`` (see the module docstring); ``encodes`` enables the
    reconstruction and restyle metrics. ``references.KitchenModel`` runs it on the kitchen itself.
    judge, second_judge: anything with ``features(x)`` and ``judge(x)`` logits (see ``judge_images``);
    the second judge (optional) reads the same pizzas, and the two readings are compared.
    real: (N, 3, H, W) images in [-1, 1] to compare with in FD/KID instead of fresh kitchen renders;
    then ``real_recipes`` (optional) are the recipes generated for the comparison, cycled to ``n_fid``.
    cas: the Classification Accuracy Score's budget; None skips it.
    device: where to run (default: where the model's parameters are). progress: a bar per section.
    """
    vocabulary = _vocabulary_check(model, judge)
    judges = [(judge, judge_size_of(judge, judge_size))]
    if second_judge is not None:
        _vocabulary_check(model, second_judge)
        judges.append((second_judge, judge_size_of(second_judge)))
    run = _Run(device_of(model, device), tuple(judges), batch_size, progress)
    metrics: dict = {}
    with eval_mode(model, judge, second_judge):
        sections, metrics["diversity"] = _read_sections(model, run, vocabulary, seed, n_train_recipes, n_per_recipe,
                                                        n_held_out_samples, n_single_samples)
        metrics.update(_judge_scores(sections, len(judges), n_single_samples, vocabulary))
        metrics.update(_distances(model, real, real_recipes, n_fid, kid_subsets, kid_subset_size, seed, vocabulary, run))
        metrics.update(_encoder_metrics(model, n_recon, vocabulary, run))
        metrics["cas"] = None if cas is None else classification_accuracy_score(model, cas, seed, vocabulary, run)

    metrics["protocol"] = {
        "seed": seed, "eval_seed": EVAL_SEED, "render_seed": RENDER_SEED, "render_stream": RENDER_STREAM,
        "threshold": THRESHOLD, "image_size": model.config.image_size, "judge_size": judges[0][1],
        "n_train_recipes": n_train_recipes, "n_per_recipe": n_per_recipe,
        "held_out_recipes": len(HELD_OUT_RECIPES), "n_held_out_samples": n_held_out_samples,
        "n_single_samples": n_single_samples, "n_fid": n_fid, "n_recon": n_recon,
        "kid_subsets": kid_subsets, "kid_subset_size": kid_subset_size,
        "real": "kitchen" if real is None else f"{len(real)} given images",
        "cas": None if cas is None else cas.as_dict(),
    }
    return metrics


def _read_sections(model, run: _Run, vocabulary: Vocabulary, seed: int, n_train_recipes: int, n_per_recipe: int,
                   n_held_out_samples: int, n_single_samples: int) -> tuple[dict, Optional[float]]:
    """The protocol's three sets of pizzas, drawn and read by every judge: ({name: (target (N, V), readings
    per judge)}, the diversity within a training recipe, None with one latent per recipe)."""
    sections = {}
    # Training-like recipes, n_per_recipe latents each: recipe i's samples are rows i*K .. i*K+K-1.
    recipes = kitchen_recipes(n_train_recipes, EVAL_SEED, vocabulary)
    repeated = [r for r in recipes for _ in range(n_per_recipe)]
    _, readings = _draw_and_read(model, repeated, seed * 100 + TRAIN, run, "train recipes")
    sections["train_recipes"] = presence(repeated, vocabulary), readings.predicted
    diversity = M.diversity(readings.feats.view(n_train_recipes, n_per_recipe, -1)) if n_per_recipe > 1 else None

    repeated = [r for r in HELD_OUT_RECIPES for _ in range(n_held_out_samples)]
    _, readings = _draw_and_read(model, repeated, seed * 100 + HELD_OUT, run, "held-out recipes")
    sections["held_out_recipes"] = presence(repeated, vocabulary), readings.predicted

    singles = [single_ingredient_recipe(i, vocabulary) for i in vocabulary.ids]
    repeated = [r for r in singles for _ in range(n_single_samples)]
    _, readings = _draw_and_read(model, repeated, seed * 100 + SINGLE, run, "single ingredients")
    sections["single_ingredient"] = presence(repeated, vocabulary), readings.predicted
    return sections, diversity


def _judge_scores(sections: dict, n_judges: int, n_single_samples: int, vocabulary: Vocabulary) -> dict:
    """The first judge's scores of each section; with a second judge, its scores and how often the two disagree."""
    per_judge = [
        {"train_recipes": M.recipe_f1(sections["train_recipes"][1][k], sections["train_recipes"][0]),
         "held_out_recipes": M.recipe_f1(sections["held_out_recipes"][1][k], sections["held_out_recipes"][0]),
         "single_ingredient": M.single_ingredient_scores(sections["single_ingredient"][1][k], n_single_samples,
                                                       vocabulary)}
        for k in range(n_judges)
    ]
    scores = dict(per_judge[0])
    if n_judges > 1:
        scores["second_judge"] = per_judge[1]
        first, second = (torch.cat(r) for r in zip(*(predicted for _, predicted in sections.values())))
        shares = M.disagreement(first, second)  # (V,)
        scores["judge_disagreement"] = {"mean": float(shares.mean()),
                                        "per_ingredient": dict(zip(vocabulary.ids, shares.tolist()))}
    return scores


def _distances(model, real, real_recipes, n_fid, kid_subsets, kid_subset_size, seed, vocabulary, run: _Run) -> dict:
    """FD and KID between judge features of generated and real pizzas, and the spectral distance to the kitchen."""
    if real is not None and real_recipes:
        recipes = [real_recipes[i % len(real_recipes)] for i in range(n_fid)]
    else:
        recipes = kitchen_recipes(n_fid, EVAL_SEED + 1, vocabulary)
    with _bar(run, "distances", 2 * n_fid) as bar:
        fake = generate(model, recipes, seed * 100 + FID, run.device, run.batch_size, bar)
        # Rendered at the model's size, so that real and generated images take the same resize to the judge.
        kitchen = render(recipes, model.config.image_size, RENDER_SEED + FID * RENDER_STREAM, vocabulary)
        bar.update(n_fid)
    judge, size = run.judges[0]
    fake_feats, _ = judge_images(judge, fake, size, run.device, run.batch_size)
    real_feats, _ = judge_images(judge, kitchen if real is None else real, size, run.device, run.batch_size)
    try:
        frechet, skipped = M.frechet_distance(fake_feats, real_feats), None
    except ValueError as error:
        frechet, skipped = None, str(error)
    return {"frechet": frechet, "frechet_skipped": skipped,
            "kid": M.kernel_inception_distance(fake_feats, real_feats, kid_subsets, kid_subset_size, seed),
            "spectral_distance": M.spectral_distance(fake, kitchen)}


def _encoder_metrics(model, n_recon, vocabulary, run: _Run) -> dict:
    """Reconstruction PSNR and restyle fidelity (primary judge) for models with an encoder; nulls otherwise."""
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
    with _bar(run, "restyle", n_recon) as bar:
        for xb, sb, tb in zip(x.split(batch_size), source_codes.split(batch_size), target_codes.split(batch_size)):
            # noise 0: the faithful reading of the picture, no sampling
            r, t = model.restyle(xb.to(device), sb.to(device), tb.to(device), 0.0, torch.Generator().manual_seed(0))
            recon.append(r.float().clamp(-1, 1).cpu())
            restyled.append(t.float().clamp(-1, 1).cpu())
            bar.update(len(xb))
    judge, size = run.judges[0]
    _, probs = judge_images(judge, torch.cat(restyled), size, device, batch_size)
    predicted, target = probs >= THRESHOLD, presence(targets, vocabulary)
    columns = torch.tensor([vocabulary.index(t) for t in edited])  # (N,): the edited topping of each pizza
    rows = torch.arange(len(targets))
    success = (predicted[rows, columns] == target[rows, columns]).float().mean()
    return {"reconstruction_psnr": M.psnr(torch.cat(recon), x),
            "restyle_fidelity": {**M.recipe_f1(predicted, target), "edit_success": float(success)}}


def classification_accuracy_score(
    model, budget: CASBudget = CAS_BUDGET, seed: int = 0, vocabulary: Optional[Vocabulary] = None,
    run: Optional[_Run] = None,
) -> dict:
    """CAS: a fresh classifier trained on the model's pizzas for ``budget.n_images`` training-like recipes
    (labelled with those recipes, resized to ``budget.image_size``), tested on ``budget.n_test`` fresh
    kitchen renders at that size: micro/macro F1. ``seed`` picks the latents (as in ``evaluate_generator``),
    ``budget.seed`` the classifier's weights and batches."""
    vocabulary = vocabulary or model.config.vocabulary
    run = run or _Run(device_of(model, None), (), BATCH_SIZE, False)
    recipes = kitchen_recipes(budget.n_images, EVAL_SEED + 5, vocabulary)
    with _bar(run, "CAS pizzas", len(recipes)) as bar:
        images = generate(model, recipes, seed * 100 + CAS, run.device, run.batch_size, bar)
    images = resize(images, budget.image_size)
    classifier = train_classifier(images, presence(recipes, vocabulary), vocabulary, budget, run.device, run.progress)
    accuracy = judge_accuracy(classifier, n=budget.n_test, size=budget.image_size, device=run.device)
    return {"micro_f1": accuracy["micro_f1"], "macro_f1": accuracy["macro_f1"]}

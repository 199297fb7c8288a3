"""Evaluation: how well generated pizzas follow their recipes, and how close they look to real ones.

No Inception network can be downloaded here, so the project brings its own judges:
``IngredientClassifier``s trained only on kitchen renders with their own seeds
(``checkpoints/judge``, vgg, seed 1001; ``checkpoints/judge2``, resnet, seed 2002). Their logits say
which ingredients a pizza shows; the first judge's pooled features stand in for Inception features
in the Frechet and kernel distances. A judge is only trusted if it recognises fresh kitchen renders
with a macro F1 of at least ``JUDGE_MIN_MACRO_F1`` (see ``judge_accuracy``).

Modules: ``metrics`` (the maths), ``protocol`` (recipes, seeds, counts; running a model through
them), ``references`` (the kitchen and trivial columns), ``cas`` (Classification Accuracy Score),
``reports`` (JSON and tables); this one is the command line.

The protocol (``evaluate_generator``; defaults in brackets, every count can be overridden)
--------------------------------------------------------------------------------------------
All recipes are fixed by protocol constants, so two models are always judged on the same
recipes; ``seed`` only picks the latents (one ``torch.Generator`` per section, seeded
``seed * 100 + section``; no global RNG state is read or changed). Kitchen renders made for the
evaluation use render seeds from ``RENDER_SEED`` (10**15) up: training renders use
``seed * 1_000_003 + i`` (``KitchenDataset``, any seed below 10**8) or draws below 2**31
(``KitchenStream``), so the evaluation never sees a training image. A pizza counts as showing an
ingredient when a judge's probability reaches 0.5; the truth is ``counts > 0``.

- ``train_recipes``: micro/macro F1 (``recipe_f1``) between the judge's reading of generated
  pizzas and the recipe asked for, over ``kitchen_recipes(n_train_recipes [64], EVAL_SEED)``
  (recipes like the training ones), ``n_per_recipe`` [4] latents each.
- ``held_out_recipes``: the same over the 16 ``HELD_OUT_RECIPES`` (combinations no training set
  contains), ``n_held_out_samples`` [8] latents each.
- ``single_ingredient``: for every ingredient, the share of its ``single_ingredient_recipe``
  pizzas (``n_single_samples`` [8] each) on which the judge finds that ingredient (``share``),
  their ``mean``, and how many ingredients are ``recognised`` on at least half of them.
- ``second_judge``: the three sections above as the second judge reads the same pizzas, and
  ``judge_disagreement``: per ingredient, the share of those pizzas on which the judges differ.
- ``frechet`` and ``kid``: Frechet distance and kernel inception distance (the raw MMD^2) between
  judge features of ``n_fid`` [512] generated pizzas, one per recipe of
  ``kitchen_recipes(n_fid, EVAL_SEED + 1)``, and of real pizzas: kitchen renders of the same recipes
  at the model's size, or given images (``real=``, e.g. the photos of a manifest, with
  ``real_recipes`` to generate their recipes instead). ``frechet`` is null, with the reason in
  ``frechet_skipped``, when a set has no more images than the features have dimensions.
- ``spectral_distance``: RMS difference in dB between the radially averaged power spectra of those
  generated pizzas and of the kitchen renders (``metrics.spectral_distance``): checkerboards and
  stripes show up as high-frequency peaks. The kitchen column (other render seeds) is its floor.
- ``diversity``: mean pairwise L2 distance between judge features of the ``n_per_recipe``
  pizzas drawn for each training recipe, averaged over recipes (0 = the latent is ignored).
- ``cas``: Classification Accuracy Score (``pizza_models.evaluation.cas``): micro/macro F1 on 512 fresh
  kitchen renders of a fresh classifier trained, on a fixed budget at 32 x 32, only on 2,048 of the
  model's pizzas of ``kitchen_recipes(2048, EVAL_SEED + 5)``, labelled with those recipes.
- models that encode only, null otherwise, on ``n_recon`` [64] kitchen renders of
  ``kitchen_recipes(n_recon, EVAL_SEED + 2)``: ``reconstruction_psnr`` (encode with the true
  recipe, decode the posterior mean) and ``restyle_fidelity`` (decode with one topping added or
  removed; ``edit_success`` is the share of pizzas on which the judge sees the edit).
- ``protocol``: the seeds, counts and sizes used, so that numbers are only compared like for like.

Every table has two reference columns. "kitchen" is the protocol run on kitchen renders
(``KitchenModel``): the ceiling of every score, and the floor of every distance. "trivial" is a
reader that answers "tomato sauce + mozzarella" for every pizza, scored exactly from the recipes
(``trivial_reader``): a recipe score near it means nothing is read beyond the base.

With the defaults a 64 x 64 model is judged on about 3,300 generated and 1,100 rendered pizzas,
one to three minutes of one CPU core.

Command line::

    python -m pizza_models.evaluation.evaluate checkpoints/gan checkpoints/cvae
    python -m pizza_models.evaluation.evaluate runs/cvae-seed-32 --real ../shared/datasets/dodo20/recipes.csv --write
    python -m pizza_models.evaluation.evaluate --judge-only checkpoints/judge
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Optional, Union

from torch import nn

from .cas import CAS_BUDGET
from ..data import ManifestError, PhotoDataset
from ..hub import CheckpointError
from .metrics import (constant_reader_f1, diversity, frechet_distance, kernel_inception_distance, psnr,
                      radial_power_spectrum, recipe_f1, spectral_distance)
from ..pipeline import load
from .protocol import (EVAL_SEED, JUDGE_MIN_MACRO_F1, JUDGE_TEST_SIZE, RENDER_SEED, edit_recipe, evaluate_generator,
                       judge_accuracy, judge_images, render)
from .references import KitchenModel, trivial_reader
from .reports import METRICS_NAME, disagreement_table, to_json, to_markdown, write_metrics

__all__ = [
    "EVAL_SEED", "JUDGE_MIN_MACRO_F1", "RENDER_SEED", "KitchenModel", "constant_reader_f1", "diversity",
    "edit_recipe", "evaluate_generator", "frechet_distance", "judge_accuracy", "judge_images",
    "kernel_inception_distance", "load_checkpoint", "main", "psnr", "radial_power_spectrum", "recipe_f1", "render",
    "spectral_distance", "to_json", "to_markdown", "trivial_reader", "write_metrics",
]


def load_checkpoint(folder: Union[str, Path], device: str = "cpu") -> nn.Module:
    """A local checkpoint folder as a model of its family, in eval mode."""
    if not Path(folder).is_dir():
        raise CheckpointError(f"{folder}: no such checkpoint folder")
    return load(folder, device)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m pizza_models.evaluation.evaluate", description=__doc__.split("\n\n")[0],
        epilog="Prints a Markdown table, one column per checkpoint beside the kitchen and trivial "
               "references (the protocol is in the module docstring).",
    )
    p.add_argument("checkpoints", nargs="*", type=Path, help="checkpoint folders: generators or classifiers")
    p.add_argument("--judge", type=Path, default=Path("checkpoints/judge"),
                   help="the judge classifier (default checkpoints/judge)")
    p.add_argument("--judge2", default="checkpoints/judge2",
                   help="the second judge (default checkpoints/judge2, skipped when absent); 'none' turns it off")
    p.add_argument("--judge-only", type=Path, metavar="JUDGE",
                   help=f"only report this judge's accuracy on fresh kitchen renders; "
                        f"exit 2 if its macro F1 < {JUDGE_MIN_MACRO_F1}")
    p.add_argument("--no-judge-check", action="store_true", help="judge models even with a judge below the accuracy bar")
    p.add_argument("--real", default="kitchen",
                   help="real pizzas for FD/KID: 'kitchen' renders (default) or a manifest CSV "
                        "such as ../shared/datasets/dodo20/recipes.csv")
    p.add_argument("--n-fid", type=int, default=512, help="generated (and rendered) pizzas for FD/KID (default 512)")
    p.add_argument("--seed", type=int, default=0, help="latent seed (recipes are fixed by the protocol)")
    p.add_argument("--no-cas", action="store_true",
                   help=f"skip the Classification Accuracy Score (about {CAS_BUDGET.steps} training steps per column)")
    p.add_argument("--no-reference", action="store_true", help="no kitchen and trivial columns")
    p.add_argument("--write", action="store_true", help=f"write {METRICS_NAME} into each checkpoint folder")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    p.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    p.add_argument("--no-progress", action="store_true", help="no progress bars on stderr")
    return p.parse_args(argv)


def _judge_refusal(accuracy: dict) -> Optional[str]:
    """Why a judge with this ``judge_accuracy`` may not grade models, or None if it may."""
    if accuracy["macro_f1"] >= JUDGE_MIN_MACRO_F1:
        return None
    return (f"the judge reads fresh kitchen renders with macro F1 {accuracy['macro_f1']:.3f} < {JUDGE_MIN_MACRO_F1}: "
            f"too unreliable to grade models (train it longer)")


def _load_judge(folder: Path, args: argparse.Namespace, second: bool = False) -> tuple[nn.Module, Optional[float]]:
    """A judge and its macro F1 on fresh renders (None with --no-judge-check).

    A first judge below the bar is refused (ValueError). A second judge below it only gets a
    warning: it grades nothing alone, it cross-checks the first, and its accuracy is reported.
    """
    judge = load_checkpoint(folder, args.device)
    if judge.family != "classifier":
        raise CheckpointError(f"{folder}: a {judge.family!r} checkpoint, not a classifier")
    if args.no_judge_check:
        return judge, None
    accuracy = judge_accuracy(judge, size=JUDGE_TEST_SIZE, device=args.device)
    refusal = _judge_refusal(accuracy)
    if refusal and not second:
        raise ValueError(f"{folder}: {refusal}; --no-judge-check overrides")
    if refusal:
        print(f"warning: second judge {folder}: {refusal}; its readings are a rough cross-check", file=sys.stderr)
    return judge, accuracy["macro_f1"]


def _judge_only(args: argparse.Namespace) -> int:
    judge = load_checkpoint(args.judge_only, args.device)
    accuracy = judge_accuracy(judge, size=JUDGE_TEST_SIZE, device=args.device)
    print(to_json(accuracy) if args.json else to_markdown(accuracy, names=[str(args.judge_only)]))
    if args.write:
        write_metrics(args.judge_only, accuracy)
    refusal = _judge_refusal(accuracy)
    if refusal:
        print(f"error: {refusal}", file=sys.stderr)
    return 2 if refusal else 0


def _evaluate(args: argparse.Namespace) -> tuple[list[str], list[dict]]:
    """Every checkpoint's metrics (and the reference columns first): (column names, metrics dicts)."""
    models = [load_checkpoint(folder, args.device) for folder in args.checkpoints]
    generators = [m for m in models if getattr(m, "draws", False)]
    judge = judge2 = None
    protocol_notes: dict = {}
    if generators:
        judge, protocol_notes["judge_macro_f1"] = _load_judge(args.judge, args)
        protocol_notes["judge"] = str(args.judge)
        if args.judge2 != "none" and Path(args.judge2).is_dir():
            judge2, protocol_notes["judge2_macro_f1"] = _load_judge(Path(args.judge2), args, second=True)
            protocol_notes["judge2"] = args.judge2
        elif args.judge2 != "none":
            print(f"note: no second judge at {args.judge2}; reporting the first judge only", file=sys.stderr)
    real = real_recipes = None
    if args.real != "kitchen" and judge is not None:
        photos = PhotoDataset(args.real, image_size=judge.config.image_size, vocabulary=judge.config.vocabulary)
        real, real_recipes = photos.images, photos.recipes
    options = dict(second_judge=judge2, n_fid=args.n_fid, seed=args.seed, real=real, real_recipes=real_recipes,
                   cas=None if args.no_cas else CAS_BUDGET, device=args.device, progress=not args.no_progress)

    names, results, references = [], [], {}
    if generators and not args.no_reference:
        sizes = sorted({m.config.image_size for m in generators})
        for size in sizes:
            name = "kitchen" if len(sizes) == 1 else f"kitchen {size}px"
            _status(args, f"{name}: the protocol on kitchen renders")
            references[size] = evaluate_generator(KitchenModel(size, judge.config.vocabulary), judge, **options)
            references[size]["protocol"].update(protocol_notes)
            names.append(name)
            results.append(references[size])
        trivial = trivial_reader(judge.config.vocabulary)
        names.append("trivial")
        results.append(trivial)
    for folder, model in zip(args.checkpoints, models):
        _status(args, str(folder))
        if not getattr(model, "draws", False):
            metrics = judge_accuracy(model, device=args.device)
        else:
            metrics = evaluate_generator(model, judge, **options)
            metrics["protocol"].update(protocol_notes, real=args.real if real is not None else "kitchen")
            if references:
                kitchen = {k: v for k, v in references[model.config.image_size].items() if k != "protocol"}
                metrics["reference"] = {"kitchen": kitchen, "trivial": trivial}
        names.append(str(folder))
        results.append(metrics)
        if args.write:
            write_metrics(folder, metrics)
    return names, results


def _status(args: argparse.Namespace, line: str) -> None:
    if not args.no_progress:
        print(line, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    args = parse_args(argv)
    if not args.checkpoints and args.judge_only is None:
        print("error: give checkpoint folders to evaluate, or --judge-only JUDGE", file=sys.stderr)
        return 1
    try:
        if args.judge_only is not None:
            return _judge_only(args)
        names, results = _evaluate(args)
    except (CheckpointError, ManifestError, ValueError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2 if "too unreliable" in str(error) else 1
    if args.json:
        print(to_json(dict(zip(names, results))))
    else:
        print(to_markdown(*results, names=names))
        disagreements = disagreement_table(*results, names=names)
        if disagreements:
            print("\n" + disagreements)
    return 0


if __name__ == "__main__":
    sys.exit(main())

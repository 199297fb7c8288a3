"""The measures on real photos (``pizza_models.evaluation.photo_measures``) for the photos themselves (the ceiling),
the clip-art kitchen (the floor) and any checkpoints, as a table and a JSON.

    python scripts/photo_measures.py checkpoints/layered --out runs/photo_measures.json

Per row: the share of flat 3x3 patches (``flat``, of 8 pizzas per photo recipe; the photos' own for the ceiling), the
real-or-generated test (``rog_auc``, ``rog_acc``; with ``--two-sample-seeds N`` their means over N seeds and the AUC's
spread ``rog_sd``; for the ceiling a lossless copy of the photos: what the test scores when nothing tells them apart),
CAS on the held-out photos of each fold (``cas_macro``, ``cas_micro``, and ``cas_chance``: the macro-F1 of the same
answers dealt to the photos at random; with ``--cas-seeds N`` their means over N classifier seeds and the macro-F1's
spread ``cas_sd``; for the ceiling the classifier trained on the fold's real training photos), and the photo judge's
reading of the row's 28 single-ingredient pizzas (``singles``, recognised of 28) and of the held-out recipes
(``held_out``, macro-F1). The judge is trained once on ``--judge`` pizzas and validated on all the photos
(``judge_on_photos``, the ceiling row's reading). A model with a crust table (``scripts/crusts.py``) and the painted
kitchen draw, in each fold of the real-or-generated test and of CAS, from the fold's training photos alone
(``model_fold_draw``, ``painted_draw``): never a held-out photo's own pixels. ``--quick`` runs tiny budgets (a smoke
test, not a measurement). Timings are wall seconds; run it on one core (``taskset -c 0``, ``OMP_NUM_THREADS=1``) to
compare them.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from pizza_models.data import read_manifest
from pizza_models.evaluation import photo_measures as P
from pizza_models.kitchen.bank import shipped_bank
from pizza_models.kitchen.painted import PaintedKitchen
from pizza_models.pipeline import load

DODO20 = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "dodo20"
def painted_draw(size: int, photos=None, coverage=None) -> P.Draw:
    """The painted kitchen's pizzas, its bank cut down to ``photos`` (indices) when given, at ``coverage``
    (``PaintedKitchen``'s; None: the clip-art kitchen's counts)."""
    bank = shipped_bank() if photos is None else shipped_bank().subset(photos)
    return P.kitchen_draw(size, kitchen=PaintedKitchen(bank=bank, coverage=coverage))


JUDGE_DRAWS = {"kitchen": P.kitchen_draw, "painted": painted_draw}  # name -> (size) -> Draw: what the photo judge learns from
QUICK = {"two_sample": P.TwoSampleBudget(n_images=96, image_size=32, steps=40, test_views=4),
         "cas": replace(P.PHOTO_CAS_BUDGET, n_images=256, image_size=32, steps=80),
         "judge": replace(P.PHOTO_JUDGE_BUDGET, n_images=512, image_size=32, steps=100, channels=8)}
COLUMNS = ("flat", "rog_auc", "rog_sd", "rog_acc", "cas_macro", "cas_sd", "cas_chance", "cas_micro", "singles", "held_out")


def timed(timings: dict, key: str, f, *args, **kwargs):
    start = time.perf_counter()
    out = f(*args, **kwargs)
    timings[key] = round(time.perf_counter() - start, 1)
    print(f"  {key}: {timings[key]} s", flush=True)
    return out


def two_sample(photos, recipes, draw: P.Draw, args, budget: P.TwoSampleBudget, fold_draw=None) -> dict:
    """The real-or-generated test repeated with ``--two-sample-seeds`` seeds from ``--seed`` (folds, views and draws): the
    mean AUC and accuracy, the AUC's standard deviation over seeds and each seed's result. One seed's AUC moves by about
    0.04 from seed to seed for the same model, so compare models on the mean of several. With ``--same-folds`` the
    repeats keep ``--seed``'s folds and pizzas and vary the CNN's own seed (its first weights, batches and views)."""
    seeds = [(replace(budget, seed=budget.seed + k), args.seed) if args.same_folds else (budget, args.seed + k)
             for k in range(args.two_sample_seeds)]  # (the CNN's budget, the folds' seed) of each repeat
    runs = [P.real_or_generated(photos, recipes, draw, args.folds, args.size, b, seed, fold_draw) for b, seed in seeds]
    if len(runs) == 1:
        return runs[0]
    auc, accuracy = (torch.tensor([r[key] for r in runs], dtype=torch.float64) for key in ("auc", "accuracy"))
    return {"auc": float(auc.mean()), "auc_sd": float(auc.std()), "accuracy": float(accuracy.mean()),
            "seeds": [r["seed"] for r in runs], "repeats": runs}


def repeated_cas(run, budget, args) -> dict:
    """CAS (``run(budget)``: one measure) repeated with ``--cas-seeds`` classifier seeds from the budget's (its first
    weights and batches) on the same folds and pizzas: the mean macro-F1, micro-F1 and chance, the macro-F1's standard
    deviation and each run. One classifier's macro-F1 moves by up to 0.1 with its seed alone (an ingredient of one
    photo, read or not, weighs 1/28 of it), so compare models on the mean of several."""
    runs = [run(replace(budget, seed=budget.seed + k)) for k in range(args.cas_seeds)]
    if len(runs) == 1:
        return runs[0]
    macro, micro, chance = (torch.tensor([r[key] for r in runs], dtype=torch.float64)
                            for key in ("macro_f1", "micro_f1", "chance_macro_f1"))
    return {"macro_f1": float(macro.mean()), "macro_f1_sd": float(macro.std()), "micro_f1": float(micro.mean()),
            "chance_macro_f1": float(chance.mean()), "seeds": [r["budget"]["seed"] for r in runs], "repeats": runs}


def measure_draw(name: str, draw: P.Draw, photos, recipes, judge, args, budgets, fold_draw=None) -> dict:
    """Every measure of one drawing row. CAS and the real-or-generated test draw with ``fold_draw(training photos)``
    where given (a draw built from the fold's training photos alone), else with ``draw`` in every fold."""
    print(name, flush=True)
    t: dict = {}
    flat = timed(t, "flat", lambda: P.flat_patch_share(draw([r for r in recipes for _ in range(8)], args.seed)))
    rog = timed(t, "real_or_generated", two_sample, photos, recipes, draw, args, budgets["two_sample"], fold_draw)
    cas = timed(t, "cas", repeated_cas, lambda budget: P.cas_on_photos(fold_draw or (lambda train: draw), photos, recipes,
                                                                        args.folds, budget, args.seed, args.size), budgets["cas"], args)
    menu = timed(t, "judge_reads", P.read_menu, judge, draw, seed=args.seed)
    return {"flat_patch_share": flat, "real_or_generated": rog, "cas_on_photos": cas, "photo_judge": menu, "seconds": t}


def model_fold_draw(model, names: list[str], size: int):
    """For a model with a crust table (``LayeredConfig.crusts``), a ``FoldDraw``: in each fold the model drawing only the
    crusts of the fold's training photos (``names``: the photos' file stems). The table holds every photo's crust, read
    as the photos are read: a held-out photo's own crust on a drawn pizza would be a copy of its pixels. None without one."""
    if not getattr(model.config, "crusts", ()):
        return None
    return lambda train: P.model_draw(copy.deepcopy(model).keep_crusts([names[i] for i in train]), size)


def fold_models_draw(models: list, names: list[str], size: int, folds: list) -> P.FoldDraw:
    """A ``FoldDraw`` from one model per fold: in each fold the model that saw exactly the fold's training photos (its
    crust table holds their crusts and no other: ``python -m train layered --hold-out``, ``scripts/crusts.py --hold-out``),
    so that every photo is judged against pizzas of a model that never saw it. ``folds``: each fold's training photos."""
    by_photos = {tuple(sorted(model.config.crusts)): model for model in models}
    wanted = [tuple(sorted(names[i] for i in train)) for train in folds]
    if len(models) != len(folds) or set(wanted) != set(by_photos):
        raise SystemExit(f"--fold-models: {len(models)} models whose crust tables do not hold exactly the training photos "
                         f"of the {len(folds)} folds (train each with --hold-out of its fold's test photos, the same --seed)")
    return lambda train: P.model_draw(by_photos[tuple(sorted(names[i] for i in train))], size)


def row(result: dict) -> dict:
    """The table's cells of one row (None where a measure does not apply)."""
    menu = result.get("photo_judge") or {}
    return {"flat": result["flat_patch_share"], "rog_auc": result["real_or_generated"]["auc"],
            "rog_sd": result["real_or_generated"].get("auc_sd"),
            "rog_acc": result["real_or_generated"]["accuracy"], "cas_macro": result["cas_on_photos"]["macro_f1"],
            "cas_sd": result["cas_on_photos"].get("macro_f1_sd"),
            "cas_chance": result["cas_on_photos"]["chance_macro_f1"],
            "cas_micro": result["cas_on_photos"]["micro_f1"],
            "singles": menu.get("single_ingredient", {}).get("recognised"),
            "held_out": menu.get("held_out_recipes", {}).get("macro_f1")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("checkpoints", type=Path, nargs="*", help="checkpoint folders to measure beside the ceiling and floor")
    p.add_argument("--photos", type=Path, default=DODO20, help="a folder with recipes.csv, or a manifest CSV")
    p.add_argument("--out", type=Path, default=Path("runs/photo_measures.json"))
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--size", type=int, default=64, help="side the photos and pizzas are compared at")
    p.add_argument("--seed", type=int, default=0, help="folds, draws and views (the budgets keep their own seeds)")
    p.add_argument("--judge", choices=sorted(JUDGE_DRAWS), default="kitchen", help="what the photo judge learns from")
    p.add_argument("--quick", action="store_true", help="tiny budgets: a smoke test of the script, not a measurement")
    p.add_argument("--rows", nargs="*", choices=("photos", "kitchen", "painted"), default=["photos", "kitchen", "painted"],
                   help="which reference rows to measure besides the checkpoints (painted: the painted kitchen, its CAS "
                        "from banks of each fold's training photos)")
    p.add_argument("--coverage", type=float, nargs=2, metavar=("LO", "HI"),
                   help="the painted kitchen row's coverage (a model's --coverage); the judge keeps the clip-art counts")
    p.add_argument("--fold-models", type=Path, nargs="*", default=[], metavar="DIR",
                   help="one layered checkpoint per fold, each trained without its fold's test photos: measured as one row, "
                        "each fold by its own model (flat patches and the judge's reading: the first one's pizzas)")
    p.add_argument("--same-folds", action="store_true",
                   help="the --two-sample-seeds repeats keep --seed's folds (as --fold-models must) and vary the CNN's seed")
    p.add_argument("--add", action="store_true", help="keep the rows of an existing --out and add these to them")
    p.add_argument("--two-sample-size", type=int, metavar="SIDE",
                   help="side the real-or-generated CNN looks at (default: its budget's, 48 px): --size 96 "
                        "--two-sample-size 96 tells whether pizzas drawn at 96 px look like the photos at 96 px")
    p.add_argument("--two-sample-seeds", type=int, default=1, metavar="N",
                   help="repeat the real-or-generated test with N seeds from --seed and report the mean AUC and its spread")
    p.add_argument("--cas-seeds", type=int, default=1, metavar="N",
                   help="train each CAS classifier with N seeds (the same folds and pizzas) and report the mean macro-F1 and its spread")
    args = p.parse_args()
    for flag, n in (("--two-sample-seeds", args.two_sample_seeds), ("--cas-seeds", args.cas_seeds)):
        if n < 1:
            p.error(f"{flag} must be at least 1, not {n}")
    if args.fold_models and args.two_sample_seeds > 1 and not args.same_folds:
        p.error("--fold-models are trained on --seed's folds: repeat the test with --same-folds")
    budgets = QUICK if args.quick else {"two_sample": P.TWO_SAMPLE_BUDGET, "cas": P.PHOTO_CAS_BUDGET,
                                        "judge": P.PHOTO_JUDGE_BUDGET}
    if args.two_sample_size:
        budgets = {**budgets, "two_sample": replace(budgets["two_sample"], image_size=args.two_sample_size)}
    photos, recipes = P.load_photos(args.photos, args.size)
    started = time.perf_counter()

    judge_seconds: dict = {}
    print(f"photo judge (trained on {args.judge})", flush=True)
    judge, validation = timed(judge_seconds, "judge_training", P.train_photo_judge, JUDGE_DRAWS[args.judge](args.size), photos, recipes,
                              budget=budgets["judge"], seed=args.seed, size=args.size)

    results = json.loads(args.out.read_text())["results"] if args.add and args.out.exists() else {}
    if "photos" in args.rows:
        print("photos (ceiling)", flush=True)
        t: dict = {}
        copies = P.photo_copy_draw(photos, recipes)
        results["photos"] = {
            "flat_patch_share": timed(t, "flat", P.flat_patch_share, photos),
            "real_or_generated": timed(t, "real_or_generated", two_sample, photos, recipes, copies, args, budgets["two_sample"]),
            "cas_on_photos": timed(t, "cas", repeated_cas, lambda budget: P.cas_real_baseline(photos, recipes, args.folds, budget,
                                                                                               args.seed), budgets["cas"], args),
            "photo_judge": None, "seconds": t}
    if "kitchen" in args.rows:
        results["kitchen"] = measure_draw("kitchen (floor)", P.kitchen_draw(args.size), photos, recipes, judge, args, budgets)
    if "painted" in args.rows:
        coverage = tuple(args.coverage) if args.coverage else None
        name = "painted kitchen" + (f" at coverage {coverage[0]:g}-{coverage[1]:g}" if coverage else "")
        results[name] = measure_draw(name, painted_draw(args.size, coverage=coverage), photos, recipes, judge, args,
                                     budgets, fold_draw=lambda train: painted_draw(args.size, train, coverage))
    manifest = args.photos / "recipes.csv" if args.photos.is_dir() else args.photos
    names = [photo.path.stem for photo in read_manifest(manifest)]
    for folder in args.checkpoints:
        model = load(folder)
        results[folder.name] = measure_draw(str(folder), P.model_draw(model, args.size), photos, recipes, judge, args, budgets,
                                            fold_draw=model_fold_draw(model, names, args.size))

    if args.fold_models:
        models = [load(folder) for folder in args.fold_models]
        folds = [[i for i in range(len(photos)) if i not in test] for test in P.photo_folds(len(photos), args.folds, args.seed)]
        fold_draw = fold_models_draw(models, names, args.size, folds)
        name = f"{args.fold_models[0].name} and {len(models) - 1} more (folds)"
        results[name] = measure_draw(name, P.model_draw(models[0], args.size), photos, recipes, judge, args, budgets, fold_draw)

    table = {name: row(result) for name, result in results.items()}
    report = {"rows": table, "judge_on_photos": validation, "results": results, "judge": args.judge, **judge_seconds,
              "photos": str(args.photos), "n_photos": len(photos), "folds": args.folds, "size": args.size,
              "seed": args.seed, "quick": args.quick, "torch_threads": torch.get_num_threads(),
              "seconds": round(time.perf_counter() - started, 1)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))

    print(f"\nphoto judge ({args.judge}) on the {len(photos)} photos: macro-F1 {validation['macro_f1']:.3f}, "
          f"(chance {validation['chance_macro_f1']:.3f}), micro-F1 {validation['micro_f1']:.3f}")
    print("| row | " + " | ".join(COLUMNS) + " |\n|---" * 1 + "|---" * len(COLUMNS) + "|")
    for name, cells in table.items():
        print(f"| {name} | " + " | ".join("-" if cells[c] is None else f"{cells[c]:.3f}" if isinstance(cells[c], float)
                                          else str(cells[c]) for c in COLUMNS) + " |")
    print(f"\nwrote {args.out} ({report['seconds']:.0f} s)")


if __name__ == "__main__":
    main()

"""Photo restyle measured on photos the readers never saw, and its figure.

    python scripts/restyle_measures.py --readers runs/readers --report docs/restyle/restyle.json \
        --figure docs/restyle/restyle.jpg

Needs the fold readers of ``scripts/photo_reader.py --fold-out runs/readers`` (fold k read the photos
``photo_folds(20, 5)[k]`` and never saw them); their recipe guesses on those photos are scored
(precision and recall, pooled and per ingredient). A photo judge trained on painted-kitchen pizzas
(``photo_measures.train_photo_judge``) reads every photo before and after each edit, at 64 px:

- *remove*: each topping or drizzle of each held-out photo taken off (the photo read with its own
  recipe); does the judge still find it, and does it read every other ingredient as before?
- *add*: every layer ingredient the photo does not have, laid on it; does the judge find it? And, for
  what the judge can find at all, does it find it on the painted kitchen's own pizza of the photo's
  recipe plus that ingredient (at the same density)?

The figure: per photo, the photo, its reading (layers tinted), its largest topping removed and one
ingredient added.
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from pizza_models.app import photo_edit as E
from pizza_models.evaluation import photo_measures as P
from pizza_models.data import read_manifest
from pizza_models.kitchen.painted import PaintedKitchen
from pizza_models.framing import disc_box
from pizza_models.pipeline import load
from pizza_models.families.photo_reader import guess
from pizza_models.evaluation.protocol import judge_images, presence
from pizza_models.recipe import DEFAULT_VOCABULARY, MAX_PORTIONS, parse_recipe

DODO20 = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "dodo20"
IDS = DEFAULT_VOCABULARY.ids


def judge_reads(judge, pictures: list) -> torch.Tensor:
    """(N, V) bool: the judge's reading of uint8 pictures (H, W, 3) of any size, each resized to 64 px."""
    small = np.stack([np.asarray(Image.fromarray(p).resize((64, 64), Image.BICUBIC)) for p in pictures])
    with torch.inference_mode():
        _, probs = judge_images(judge, P.as_float(small))
    return probs >= P.THRESHOLD


def measure_photo(judge, reading: E.PhotoReading, kitchen: PaintedKitchen, seed: int) -> dict:
    """Every removal and addition on one photo, read by the judge."""
    before = judge_reads(judge, [reading.photo])[0]
    have = [i for i in reading.recipe.ingredients if i in reading.layers]
    lacks = [i for i in reading.layers if i not in reading.recipe.ingredients]
    removed = [E.remove(reading, i) for i in have]
    added = [E.add(reading, i, 1, seed, kitchen) for i in lacks]
    after_remove = judge_reads(judge, removed) if removed else torch.zeros(0, len(IDS), dtype=torch.bool)
    after_add = judge_reads(judge, added) if added else torch.zeros(0, len(IDS), dtype=torch.bool)
    on_photo = list(reading.recipe.ingredients)[:MAX_PORTIONS - 1]
    kitchen_pizzas = [np.asarray(kitchen.render(parse_recipe(on_photo + [i]), seed, 64)) for i in lacks]
    in_kitchen = judge_reads(judge, kitchen_pizzas) if lacks else torch.zeros(0, len(IDS), dtype=torch.bool)
    rows = []
    for i, reading_after in zip(have, after_remove):
        v, others = IDS.index(i), [IDS.index(o) for o in IDS if o != i]
        rows.append({"edit": "remove", "ingredient": i, "found_before": bool(before[v]), "found_after": bool(reading_after[v]),
                     "others_kept": float((reading_after[others] == before[others]).float().mean())})
    for i, reading_after, kitchen_reading in zip(lacks, after_add, in_kitchen):
        v = IDS.index(i)
        rows.append({"edit": "add", "ingredient": i, "found_before": bool(before[v]), "found_after": bool(reading_after[v]),
                     "found_in_kitchen_pizza": bool(kitchen_reading[v])})
    return {"before": [n for n, yes in zip(IDS, before.tolist()) if yes], "edits": rows}


def summary(edits: list) -> dict:
    """Shares over every edit of every held-out photo."""
    rem = [e for e in edits if e["edit"] == "remove"]
    seen = [e for e in rem if e["found_before"]]
    add = [e for e in edits if e["edit"] == "add"]
    unseen = [e for e in add if not e["found_before"]]

    def share(rows: list, f) -> float | None:
        return round(float(np.mean([f(r) for r in rows])), 3) if rows else None

    return {"removals": len(rem), "gone_after_remove": share(rem, lambda r: not r["found_after"]),
            "judge_found_before_remove": len(seen), "gone_of_those_found": share(seen, lambda r: not r["found_after"]),
            "others_kept_after_remove": share(rem, lambda r: r["others_kept"]),
            "additions": len(add), "found_after_add": share(add, lambda r: r["found_after"]),
            "found_after_add_of_those_not_found_before": share(unseen, lambda r: r["found_after"]),
            "found_in_kitchen_pizza": share(add, lambda r: r["found_in_kitchen_pizza"])}


def figure(rows: list, path: Path, side: int = 100) -> None:
    """Rows of (caption, [pictures]) as one picture (a JPEG for a .jpg path), the column titles on top."""
    titles = ["photo", "reading", "removed", "added"]
    sheet = Image.new("RGB", (4 * (side + 4), len(rows) * (side + 16) + 14), "white")
    pen = ImageDraw.Draw(sheet)
    for c, t in enumerate(titles):
        pen.text((c * (side + 4) + 2, 1), t, fill=(0, 0, 0))
    for r, (caption, pictures) in enumerate(rows):
        y = 14 + r * (side + 16)
        for c, picture in enumerate(pictures):
            sheet.paste(Image.fromarray(picture).resize((side, side), Image.LANCZOS), (c * (side + 4), y))
        pen.text((2, y + side + 2), caption, fill=(0, 0, 0))
    sheet.save(path, quality=85)  # a JPEG: twenty photos' worth of pictures


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", type=Path, default=DODO20)
    p.add_argument("--readers", type=Path, default=Path("runs/readers"))
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--report", type=Path, default=Path("runs/restyle.json"))
    p.add_argument("--figure", type=Path)
    p.add_argument("--portions", choices=("photos", "clipart"), default="photos",
                   help="how densely an added portion is laid: as the photos are covered (the app's), or the clip-art counts")
    args = p.parse_args()
    torch.set_num_threads(1)
    started = time.perf_counter()
    photos64, recipes = P.load_photos(args.photos, 64)
    entries = read_manifest(args.photos / "recipes.csv")
    kitchen = E.portion_kitchen() if args.portions == "photos" else PaintedKitchen()
    judge, validation = P.train_photo_judge(P.kitchen_draw(64, kitchen=PaintedKitchen()), photos64, recipes, seed=args.seed)
    per_photo, edits, rows = {}, [], []
    read, target = torch.zeros(len(entries), len(IDS), dtype=torch.bool), presence(recipes)
    for fold, test in enumerate(P.photo_folds(len(entries), args.folds, args.seed)):
        reader = load(args.readers / f"fold{fold}")
        read[test] = guess(reader, P.as_float(photos64[test]))
        for i in test.tolist():
            image = Image.open(entries[i].path).convert("RGB")
            reading = E.read(reader, image, entries[i].recipe, disc_box(image))
            result = measure_photo(judge, reading, kitchen, args.seed)
            per_photo[entries[i].path.name] = result
            edits += result["edits"]
            have = [x for x in reading.recipe.ingredients if x in reading.layers]
            largest = max(have, key=lambda x: reading.mask(x).sum()) if have else None
            lacks = [x for x in reading.layers if x not in reading.recipe.ingredients]
            extra = lacks[i % len(lacks)]
            rows.append((i, f"-{largest or 'nothing'} +{extra}", [
                reading.photo, np.asarray(E.reading_image(reading)),
                E.remove(reading, largest) if largest else reading.photo, E.add(reading, extra, 1, args.seed, kitchen)]))
        print(f"fold {fold} ({time.perf_counter() - started:.0f} s)", flush=True)
    reader_scores = {**P.precision_recall(read, target), "macro_f1": P.photo_f1(read, target)["macro_f1"],
                     "read": [[n for n, yes in zip(IDS, row) if yes] for row in read.tolist()]}
    print(f"recipe guess on held-out photos: precision {reader_scores['precision']:.3f}, "
          f"recall {reader_scores['recall']:.3f}")
    report = {"reader": reader_scores, "summary": summary(edits), "judge_on_photos": {k: validation[k] for k in ("macro_f1", "micro_f1")},
              "per_photo": per_photo, "seconds": round(time.perf_counter() - started, 1)}
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1))
    print(json.dumps(report["summary"], indent=1))
    if args.figure:
        figure([(caption, pictures) for _, caption, pictures in sorted(rows, key=lambda r: r[0])], args.figure)


if __name__ == "__main__":
    main()

"""Train the photo reader (``pizza_models.families.photo_reader``) and measure it on photos it never saw.

    python scripts/photo_reader.py --folds 5 --out checkpoints/reader --report docs/restyle/reader.json
    python scripts/photo_reader.py --folds 5 --fold-sets runs/readers-a runs/readers-b   # an ensemble, no training

Per fold (5 folds of the 20 photos, ``photo_measures.photo_folds``): the painted kitchen is cut down
to the fold's training photos (``PhotoBank.subset``), a reader learns from its pizzas (recipe and
exact layers) and from random views of the training photos (recipe only), and reads the held-out
photos: precision and recall per ingredient and overall. Then one reader learns from all 20 photos
and the whole bank, and is saved (fp16) for the app.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Optional

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from pizza_models.app import photo_edit
from pizza_models.evaluation import photo_measures as P
from pizza_models.data import kitchen_recipes, rotate_view
from pizza_models.hub import save_checkpoint
from pizza_models.kitchen.bank import LAYERS, PhotoBank, shipped_bank
from pizza_models.kitchen.painted import PaintedKitchen
from pizza_models.families.photo_reader import PhotoReader, ReaderConfig, ensemble, guess, topping_probabilities
from pizza_models.evaluation.protocol import presence
from pizza_models.menu import MENU
from pizza_models.pipeline import load
from pizza_models.recipe import DEFAULT_VOCABULARY

DODO20 = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "dodo20"


def painted_examples(kitchen: PaintedKitchen, n: int, size: int, seed: int, layers: tuple) -> tuple:
    """n painted pizzas (n, 3, S, S) in [-1, 1], their layer maps (n, S, S) long (what shows on top) and recipes."""
    recipes = kitchen_recipes(n, seed)
    images, maps = [], []
    for i, recipe in enumerate(recipes):
        parts = kitchen.render_layers(recipe, seed * 100_000 + i, size)
        shows = np.zeros((size, size), np.int64)
        for name, rgba in parts.layers:
            shows[rgba[..., 3] >= 0.5] = 1 + layers.index(name)
        images.append(np.asarray(parts.image()))
        maps.append(shows)
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 127.5 - 1
    return x, torch.from_numpy(np.stack(maps)), recipes


def jitter(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Exposure, white balance and saturation varied per picture; x (B, 3, S, S) in [-1, 1]."""
    b = x.shape[0]
    gain = 1 + 0.08 * torch.randn(b, 1, 1, 1, generator=g) + 0.03 * torch.randn(b, 3, 1, 1, generator=g)
    rgb = (x + 1) * gain
    grey = rgb.mean(1, keepdim=True)
    rgb = grey + (rgb - grey) * (1 + 0.15 * torch.randn(b, 1, 1, 1, generator=g))
    return (rgb - 1).clamp(-1, 1)


def photo_views(photos: torch.Tensor, k: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """k random views (any angle, mirrored or not) of photos (N, C, S, S): (views, which photo)."""
    pick = torch.randint(0, len(photos), (k,), generator=g)
    angles = torch.rand(k, generator=g) * 360
    flips = torch.rand(k, generator=g) < 0.5
    views = [rotate_view(photos[i], float(a), bool(f)) for i, a, f in zip(pick, angles, flips)]
    return (torch.stack(views) if views else photos[:0]), pick


def halves(views: torch.Tensor, labels: torch.Tensor, share: float, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Views (K, C, S, S) of whole pizzas, a ``share`` of them cut along a random line through the centre and given
    the other half of the next view; their labels (K, V) the two recipes' union: a try at keeping a reader from
    learning a photo's whole recipe as the name of its look (docs/restyle: half a photo still names it)."""
    if not share:  # (and no draws from g: the reader without halves is trained as before)
        return views, labels
    k, side = len(views), views.shape[-1]
    mixed = torch.rand(k, generator=g) < share
    angle = torch.rand(k, generator=g) * 2 * torch.pi
    axis = torch.arange(side) - (side - 1) / 2
    across = axis[None, None, :] * angle.cos()[:, None, None] + axis[None, :, None] * angle.sin()[:, None, None]  # (K, S, S)
    take = ((across > 0) & mixed[:, None, None])[:, None]  # (K, 1, S, S): the pixels from the next view
    other, other_labels = views.roll(1, 0), labels.roll(1, 0)
    return torch.where(take, other, views), torch.where(mixed[:, None], labels.maximum(other_labels), labels)


def photo_layer_maps(bank: PhotoBank, photos: np.ndarray, size: int) -> torch.Tensor:
    """The bank's layer maps of ``photos`` (indices) as one-hot (N, 1 + L, size, size) float, area-resized from the
    bank's side: what each pixel of a photo shows, as the photo tools read it (0 the base; the reader's layers are the bank's)."""
    shows = torch.from_numpy(bank.shows[photos].astype(np.int64))  # (N, BANK_SIDE, BANK_SIDE)
    onehot = F.one_hot(shows, 1 + len(LAYERS)).permute(0, 3, 1, 2).float()
    return F.interpolate(onehot, size=(size, size), mode="area")


def pixels_loss(layer_logits: torch.Tensor, present: torch.Tensor, pixels: int) -> torch.Tensor:
    """Layer logits (B, 1 + L, S, S) of photos whose recipes are known, ``present`` (B, L) in {0, 1}: a layer of the
    recipe must have ``pixels`` pixels of it somewhere, any other none (binary cross-entropy of the reading by pixels)."""
    shown = topping_probabilities(layer_logits, pixels).clamp(1e-6, 1 - 1e-6)  # (B, L)
    return F.binary_cross_entropy(shown, present.float())


def cover_loss(layer_logits: torch.Tensor, maps: torch.Tensor, share: float = 0.75) -> torch.Tensor:
    """How far the toppings read on photos (layer logits (B, 1 + L, S, S)) fall short of covering ``share`` of what their
    layer maps (B, 1 + L, S, S, the photo tools' rough reading) cover: a lower bound only, since the maps are rough."""
    covered = 1 - layer_logits.float().softmax(1)[:, 0].mean((1, 2))  # (B,)
    return F.relu(share * (1 - maps[:, 0].mean((1, 2))) - covered).mean()


def train_reader(photos: torch.Tensor, labels: torch.Tensor, kitchen: PaintedKitchen, steps: int, seed: int,
                 n_painted: int = 3000, size: int = 64, channels: int = 16, photo_maps: Optional[torch.Tensor] = None,
                 photo_layer_weight: float = 0.0, photo_mix: float = 0.0, n_views: int = 8, topping_pixels: int = 20,
                 photo_pixel_weight: float = 0.0, photo_cover_weight: float = 0.0) -> PhotoReader:
    """A reader trained on ``n_painted`` painted pizzas and views of ``photos`` (N, 3, S, S) with ``labels`` (N, V),
    24 pizzas and ``n_views`` views a step (0: painted pizzas alone); with ``photo_maps`` (N, 1 + L, S, S), the photos'
    layer maps teach its layer head too, at ``photo_layer_weight``; a ``photo_mix`` share of the photo views are two
    photos' halves (``halves``); it names a topping by its ``topping_pixels`` likeliest pixels (``ReaderConfig``), and
    with ``photo_pixel_weight`` the photo views' recipes teach that reading too: a topping of the photo's recipe must
    have that many pixels of it somewhere, any other none (the layer head learns real pieces from recipes alone); with
    ``photo_cover_weight`` a photo view's toppings must cover at least 3/4 of the share its layer map gives them."""
    config = ReaderConfig(image_size=size, channels=channels, topping_pixels=topping_pixels)
    x, maps, recipes = painted_examples(kitchen, n_painted, size, seed, config.layers)
    y = presence(recipes).float()
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    reader = PhotoReader(config)
    optimizer = torch.optim.AdamW(reader.parameters(), 2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 2e-3, total_steps=steps, pct_start=0.1)
    mapped = photo_maps is not None and (photo_layer_weight > 0 or photo_cover_weight > 0) and n_views > 0
    for _ in range(steps):
        i = torch.randint(0, len(x), (24,), generator=g)
        flip = torch.rand(()) < 0.5
        xi, mi = (x[i].flip(3), maps[i].flip(2)) if flip else (x[i], maps[i])
        views, which = photo_views(torch.cat([photos, photo_maps], 1) if mapped else photos, n_views, g)
        views, view_labels = halves(views, labels[which], photo_mix, g)
        views, view_maps = views[:, :3], views[:, 3:]  # the maps turned and cut with their photo: (n_views, 1 + L, S, S)
        with torch.autocast("cpu", torch.bfloat16):  # native on CPUs with AMX or AVX512-BF16: about twice as fast
            recipe_logits, layer_logits = reader.read(jitter(torch.cat([xi, views]), g))
        loss = (F.binary_cross_entropy_with_logits(recipe_logits.float(), torch.cat([y[i], view_labels]))
                + F.cross_entropy(layer_logits[:24].float(), mi))
        if mapped and photo_cover_weight:
            loss = loss + photo_cover_weight * cover_loss(layer_logits[24:], view_maps)
        if mapped and photo_layer_weight:  # soft targets: the maps are the photo tools' reading, resized
            loss = loss + photo_layer_weight * F.cross_entropy(layer_logits[24:].float(), view_maps)
        if photo_pixel_weight and n_views:  # a reader naming toppings by its pooled head (0 pixels) learns the 20-pixel reading
            loss = loss + photo_pixel_weight * pixels_loss(layer_logits[24:], view_labels[:, reader.layer_index], topping_pixels or 20)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
    return reader.eval()


def scores(predicted: torch.Tensor, target: torch.Tensor) -> dict:
    """Pooled precision and recall, per ingredient, and macro-F1 over the ingredients the photos have."""
    return {**P.precision_recall(predicted, target), "macro_f1": P.photo_f1(predicted, target)["macro_f1"]}


def card_files(reader: PhotoReader, out: Path, report: dict) -> None:
    """metrics.json (the held-out scores of ``report``) and samples.png (painted pizzas of four menu
    recipes beside their reading, layers tinted) next to a saved reader."""
    metrics = {"held_out_photos": report.get("held_out"), "folds": len(report.get("folds", [])),
               "command": report["command"]}
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    kitchen, tiles = PaintedKitchen(), []
    for seed, recipe in enumerate(list(MENU.values())[:4]):
        image = kitchen.render(recipe, seed, 128)
        reading = photo_edit.read(reader, image, recipe, (0, 0, 128))
        tiles += [np.asarray(image), np.asarray(photo_edit.reading_image(reading))]
    Image.fromarray(np.concatenate(tiles, 1)).save(out / "samples.png", optimize=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photos", type=Path, default=DODO20)
    p.add_argument("--folds", type=int, default=5, help="0: no folds, only the reader shipped")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--painted", type=int, default=3000, help="painted pizzas rendered per reader")
    p.add_argument("--coverage", type=float, nargs=2, metavar=("LO", "HI"),
                   help="the painted pizzas' toppings cover this share of the sauce disc (the photos: 0.3 to 0.75)")
    p.add_argument("--channels", type=int, default=16, help="the reader's width")
    p.add_argument("--size", type=int, default=64, help="the side the reader reads photos at (a multiple of 8)")
    p.add_argument("--photo-layers", type=float, default=0.0,
                   help="weight of the training photos' layer maps (the photo bank's) on the reader's layer head; 0: recipes only")
    p.add_argument("--photo-views", type=int, default=8,
                   help="views of the training photos in each step's batch, beside 24 painted pizzas (0: painted pizzas alone)")
    p.add_argument("--photo-mix", type=float, default=0.0,
                   help="the share of photo views made of two training photos' halves, labelled with both recipes")
    p.add_argument("--photo-pixels", type=float, default=0.0,
                   help="weight of the photo views' recipes on the layer head's reading (its likeliest pixels); 0: off")
    p.add_argument("--photo-cover", type=float, default=0.0,
                   help="weight of a lower bound on how much of a photo view its toppings cover (3/4 of its layer map's share); 0: off")
    p.add_argument("--topping-pixels", type=int, default=20,
                   help="a topping is read from its likeliest pixels, this many (the layer head); 0: from the pooled head")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fold-seed", type=int, help="the seed of the fold split (default: --seed); readers of other seeds on the same folds")
    p.add_argument("--out", type=Path, help="save the reader trained on every photo here (fp16)")
    p.add_argument("--fold-out", type=Path, help="save each fold's reader here as fold<k> (for scripts/restyle_measures.py)")
    p.add_argument("--fold-sets", type=Path, nargs="+", default=[], metavar="DIR",
                   help="no training: each fold read by the mean of these --fold-out folders' readers of that fold (made "
                        "with the same --folds and fold seed, other --seed)")
    p.add_argument("--members", type=Path, nargs="+", default=[], metavar="DIR",
                   help="no training: --out is the ensemble of these readers (each saved with --out, other --seed)")
    p.add_argument("--report", type=Path, default=Path("runs/reader.json"))
    args = p.parse_args()
    if not 0 <= args.topping_pixels <= args.size ** 2:
        p.error(f"--topping-pixels: 0 to {args.size ** 2} pixels of a {args.size} px view: {args.topping_pixels}")
    if args.members and not args.out:
        p.error("--members makes the reader saved in --out: give --out")
    if args.photo_views < 0:
        p.error(f"--photo-views: a number of views, 0 or more: {args.photo_views}")
    torch.set_num_threads(1)
    coverage = tuple(args.coverage) if args.coverage else None
    photos_u8, recipes = P.load_photos(args.photos, args.size)
    photos, target = P.as_float(photos_u8), presence(recipes)
    bank = shipped_bank()
    maps = photo_layer_maps(bank, np.arange(len(photos)), args.size) if args.photo_layers or args.photo_cover else None
    options = dict(size=args.size, channels=args.channels, photo_layer_weight=args.photo_layers, photo_mix=args.photo_mix,
                   n_views=args.photo_views, topping_pixels=args.topping_pixels, photo_pixel_weight=args.photo_pixels,
                   photo_cover_weight=args.photo_cover)  # the same reader per fold and shipped
    report, started = {"folds": [], "command": " ".join(["python scripts/photo_reader.py", *sys.argv[1:]])}, time.perf_counter()
    predicted = torch.zeros_like(target)
    fold_seed = args.seed if args.fold_seed is None else args.fold_seed
    for fold, test in enumerate(P.photo_folds(len(photos), args.folds, fold_seed) if args.folds else []):
        train = np.setdiff1d(np.arange(len(photos)), test)
        if args.fold_sets:
            reader = ensemble([load(folder / f"fold{fold}") for folder in args.fold_sets])
        else:
            kitchen = PaintedKitchen(bank=bank.subset(train), coverage=coverage)
            reader = train_reader(photos[train], target[train].float(), kitchen, args.steps, args.seed + fold, args.painted,
                                  photo_maps=None if maps is None else maps[train], **options)
        predicted[test] = guess(reader, photos[test])
        if args.fold_out:
            save_checkpoint(reader, args.fold_out / f"fold{fold}", half=True)
        report["folds"].append({"test_photos": test.tolist(), **scores(predicted[test], target[test])})
        print(f"fold {fold}: {report['folds'][-1]['precision']:.2f} / {report['folds'][-1]['recall']:.2f} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    if args.folds:
        report["held_out"] = scores(predicted, target)
        report["read"] = [[n for n, yes in zip(DEFAULT_VOCABULARY.ids, row) if yes] for row in predicted.tolist()]
        print(f"held-out photos: precision {report['held_out']['precision']:.3f}, recall {report['held_out']['recall']:.3f}, "
              f"macro-F1 {report['held_out']['macro_f1']:.3f}")
    if args.out:
        reader = ensemble([load(folder) for folder in args.members]) if args.members else train_reader(
            photos, target.float(), PaintedKitchen(coverage=coverage), args.steps, args.seed + 100, args.painted,
            photo_maps=maps, **options)
        save_checkpoint(reader, args.out, half=True)
        card_files(reader, args.out, report)
        report["shipped"] = str(args.out)
    report["seconds"] = round(time.perf_counter() - started, 1)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

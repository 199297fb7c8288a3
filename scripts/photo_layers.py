"""Take the 20 menu photos apart into layers and build the painted kitchen's bank from them.

    python scripts/photo_layers.py [--photos ../shared/datasets/dodo20] [--out pizza_models/kitchen/photo_bank] \
        [--sheet docs/painted/photo_layers.png]

1. **Which pixels show which ingredient.** A small fully convolutional pixel classifier (3 layers, a 7 x 7
   view) is fitted to all 20 photos at once from the recipes alone: a pixel may only be the base or one of
   its photo's own toppings and drizzles, each layer covers about the share of the sauce disc the kitchen's
   layouts give that recipe, a layer's pixels are alike in colour, every pixel commits (low entropy). Being
   shared, what reads as pepperoni on the pepperoni pizzas must be explained otherwise on the 13 without it:
   that contrast, not a hand-set colour table, separates the toppings from the base.
2. **Pieces.** Each topping's confident pixels are split into blobs; blobs of a plausible size (the
   kitchen's, 0.3x to 3x in area) whose mean colour is nearer that topping's kitchen colour than any
   other topping of the recipe (the classifier alone swaps look-alikes) are cut out with a soft edge,
   the most solid first, at most ``--per-ingredient`` of each, strays of odd colour left out (``typical``).
   Too few (under 3)? A colour contrast (``colour_maps``) gives them: the shared classifier misses small
   pieces of colours no other pizza shows (olives, jalapeno, green pepper). ``--vivid`` (diced tomatoes),
   ``--pink`` (ham) and ``--white`` (feta) take their pieces from blobs that stand out from the base
   around them, are redder or are whiter than it (``vivid_maps``) on pizzas of one or two toppings.
3. **Bases.** Each photo with its topping pixels refilled (``--refill``, ``base_refill.py``): from the same photo
   shifted a few pixels (its own sauce specks, cheese and browning; the bank shipped), or smoothly.
4. **Drizzles.** The mean colour of each drizzle's pixels.
5. **Colours of toppings shown by their colour alone.** Red onion's slivers are 1-2 px wide at the bank's side, too
   thin to cut, and the classifier's red-onion pixels are sauce; oregano is a dust of 1 px flecks, and the pieces it
   cut were orange sauce specks. Their colour (purple, olive), as nothing else on those pizzas shows it
   (``topping_colours``), is kept per photo, they keep no pieces, and the painted kitchen draws their clip-art
   shape in it.

Everything written is derived from the photos and small (about 0.5 MB); the photos are not copied.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage as ndi
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the repository root, for scripts.*

from pizza_models.data import read_manifest  # noqa: E402
from pizza_models.kitchen.procedural import DRIZZLES, SAUCES, TOPPINGS, Kitchen  # noqa: E402
from pizza_models.kitchen.bank import BANK_SIDE, CELL, LAYERS, PhotoBank  # noqa: E402
from scripts.base_refill import REFILLS  # noqa: E402

INNER = 0.84  # sauce disc over the pizza's radius in the photos (the crust ring is the rest)
MIN_PIECES = 3  # a topping's pieces in the bank come from one source only if it gives at least this many


def is_thin(name: str) -> bool:
    """Whether a topping's pieces are thin (strips, onion rings, leaves, shrimp): 1-2 px wide in the photos."""
    return TOPPINGS[name].shape in ("strip", "arc", "leaf", "shrimp")


def piece_radius(name: str, pizza_radius: float) -> float:
    """The half-width in photo pixels the kitchen gives a piece of this topping on a pizza of that radius."""
    return TOPPINGS[name].size * 2 * INNER * pizza_radius


def disc_geometry(image: np.ndarray) -> tuple[float, float, float]:
    """(cx, cy, radius) in pixels of the pizza in a photo on a white background."""
    darkness = 765 - image.astype(np.float32).sum(-1)
    mask = ndi.binary_fill_holes(darkness > 40)
    labels, n = ndi.label(mask)
    mask = labels == 1 + int(np.argmax(ndi.sum(mask, labels, range(1, n + 1))))
    yy, xx = np.nonzero(mask)
    return float(xx.mean() + 0.5), float(yy.mean() + 0.5), float(math.sqrt(mask.sum() / math.pi))


def radius_map(side: int, cx: float, cy: float, radius: float) -> np.ndarray:
    """(side, side): distance of each pixel centre from (cx, cy) over ``radius``."""
    yy, xx = np.mgrid[:side, :side]
    return np.hypot(xx + 0.5 - cx, yy + 0.5 - cy) / radius


def kitchen_cover(recipe, seeds: int = 8) -> np.ndarray:
    """(1 + L,): the share of the sauce disc each layer shows on top, averaged over kitchen layouts."""
    kitchen, cover = Kitchen(), np.zeros(1 + len(LAYERS))
    for seed in range(seeds):
        parts = kitchen.render_layers(recipe, seed, 64)
        g = parts.geometry
        inside = radius_map(64, g.cx * 64, g.cy * 64, g.inner * 64) < 1
        shows = np.zeros((64, 64), int)
        for name, rgba in parts.layers:
            shows[rgba[..., 3] >= 0.5] = 1 + LAYERS.index(name)
        cover += np.bincount(shows[inside], minlength=1 + len(LAYERS)) / inside.sum() / seeds
    return cover


def fit_pixel_classifier(images: np.ndarray, inner: np.ndarray, allowed: np.ndarray, cover: np.ndarray,
                         steps: int = 500, seed: int = 0) -> np.ndarray:
    """Which layer each pixel shows, (N, S, S) ints (0: base where unsure), fitted from the recipes alone.

    images (N, S, S, 3) uint8; inner (N, S, S) the sauce discs; allowed (N, 1 + L) which layers each
    photo may show; cover (N, 1 + L) their expected shares of the disc."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x_all = torch.tensor(images).permute(0, 3, 1, 2).float() / 127.5 - 1  # (N, 3, S, S) in [-1, 1]
    m_all = torch.tensor(inner).float()[:, None]  # (N, 1, S, S)
    allow, target = torch.tensor(allowed), torch.tensor(cover).float()
    toppings = allow.clone()
    toppings[:, 0] = False
    k, side, crop = allow.shape[1], images.shape[1], 64
    net = nn.Sequential(nn.Conv2d(3, 24, 3, padding=1), nn.SiLU(), nn.Conv2d(24, 24, 3, padding=1), nn.SiLU(),
                        nn.Conv2d(24, 24, 3, padding=1), nn.SiLU(), nn.Conv2d(24, k, 1))
    optimizer = torch.optim.Adam(net.parameters(), 3e-3)
    for step in range(steps):
        turn, (oy, ox) = step % 4, rng.integers(0, side - crop, 2)
        x = torch.rot90(x_all, turn, (2, 3))[:, :, oy:oy + crop, ox:ox + crop]
        m = torch.rot90(m_all, turn, (2, 3))[:, :, oy:oy + crop, ox:ox + crop]
        if step % 8 >= 4:
            x, m = x.flip(3), m.flip(3)
        p = net(x).masked_fill(~allow[:, :, None, None], -1e4).softmax(1)  # (N, K, c, c)
        w = p * m
        share = w.sum((2, 3)) / m.sum((2, 3)).clamp(min=1)
        ratio = torch.log(share + 1e-4) - torch.log(target + 1e-4)
        cover_loss = (F.relu(ratio - 0.15) ** 2 + F.relu(-ratio - 0.7) ** 2)[toppings].mean()  # 0.5x to 1.15x
        mean = (w[:, :, None] * x[:, None]).sum((3, 4)) / (w.sum((2, 3))[:, :, None] + 1e-3)  # (N, K, 3)
        spread = (w[:, :, None] * (x[:, None] - mean[..., None, None]) ** 2).sum((2, 3, 4)) / (m.sum((2, 3)) + 1e-3)
        entropy = (-(p * torch.log(p + 1e-8)).sum(1, keepdim=True) * m).sum() / m.sum()
        loss = cover_loss + 3 * spread.sum(1).mean() + 0.1 * entropy
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        p = net(x_all).masked_fill(~allow[:, :, None, None], -1e4).softmax(1)
    confident = p.max(1).values.numpy() > 0.75
    return np.where(inner & confident, p.argmax(1).numpy(), 0)


def lab(rgb: np.ndarray) -> np.ndarray:
    """CIE Lab (D65) of sRGB colours (..., 3) in [0, 255]."""
    c = np.asarray(rgb, np.float64) / 255
    c = np.where(c > 0.04045, ((c + 0.055) / 1.055) ** 2.4, c / 12.92)
    xyz = c @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    f = np.cbrt(np.maximum(xyz / [0.9505, 1.0, 1.089], 0.008856 ** 3))
    f = np.where(xyz / [0.9505, 1.0, 1.089] > 0.008856, f, 7.787 * xyz / [0.9505, 1.0, 1.089] + 16 / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def nearest_topping(colour: np.ndarray, candidates: list[str]) -> str:
    """Which of ``candidates`` a piece of mean ``colour`` looks like, by the kitchen's colour of each
    topping (Lab distance): a sanity gate on the classifier's labels."""
    refs = np.array([TOPPINGS[c].colour for c in candidates], np.float64)
    return candidates[int(np.argmin(np.linalg.norm(lab(refs) - lab(colour), axis=-1)))]


def cut_pieces(image: np.ndarray, shows: np.ndarray, layer: int, piece_radius: float,
               gate=None, thin: bool = False) -> list[tuple[float, np.ndarray]]:
    """Sprites of one topping from one photo: [(solidity, (CELL, CELL, 4) uint8 RGBA)], a piece centred
    in its cell at the scale of the photo (half-width ``piece_radius`` px expected). ``gate(colour)``
    says whether a blob of that mean colour may be this topping. ``thin`` pieces (strips, rings of
    onion) are 1-2 px wide in the photos: no opening (it would erase them) and a lower area floor."""
    mask = ndi.binary_closing(shows == layer)
    if not thin:
        mask = ndi.binary_opening(mask, iterations=1)
    labels, n = ndi.label(mask)
    area_expected = math.pi * piece_radius**2
    floor = 0.12 if thin else 0.3
    out = []
    for i, box in enumerate(ndi.find_objects(labels), start=1):
        blob = labels[box] == i
        area = int(blob.sum())
        h, w = blob.shape
        if not floor * area_expected <= area <= 3 * area_expected or max(h, w) > CELL - 4:
            continue
        if gate is not None and not gate(image[box][blob].mean(0)):
            continue
        solidity = area / (h * w)
        y0, x0 = box[0].start + h / 2, box[1].start + w / 2  # the blob's box centre
        oy, ox = int(round(y0 - CELL / 2)), int(round(x0 - CELL / 2))
        if oy < 0 or ox < 0 or oy + CELL > image.shape[0] or ox + CELL > image.shape[1]:
            continue
        # A clean outline: the blob filled, its notches closed and its edge smoothed, then one soft pixel.
        blob = ndi.binary_closing(ndi.binary_fill_holes(labels[oy:oy + CELL, ox:ox + CELL] == i), iterations=2)
        alpha = np.clip((ndi.gaussian_filter(blob.astype(np.float32), 0.7 if thin else 1.0) - 0.3) / 0.4, 0, 1)
        rgba = np.concatenate([image[oy:oy + CELL, ox:ox + CELL], (alpha * 255)[..., None]], -1)
        out.append((solidity * min(1.0, area / area_expected), rgba.astype(np.uint8)))
    return out


def typical(found: list, spread: float = 2.5) -> list:
    """The pieces [(solidity, photo, rgba)] of a topping within ``spread`` times the median distance (Lab, at least
    12) of their median colour: a stray look-alike (a green sliver among mushrooms) is drawn on every pizza of it."""
    colours = lab(np.array([rgba[..., :3][rgba[..., 3] > 127].mean(0) for _, _, rgba in found], np.float64))
    distance = np.linalg.norm(colours - np.median(colours, 0), axis=-1)
    return [f for f, d in zip(found, distance) if d <= spread * max(np.median(distance), 12)]


def colour_maps(images: np.ndarray, inner: np.ndarray, recipes: list, ratio: float = 5.0, levels: int = 12) -> np.ndarray:
    """(N, S, S) layer maps from colour contrast alone (0: not claimed).

    For each topping, a smoothed colour histogram of the sauce discs of the photos whose recipe has it
    against that of the photos without it: a pixel shows the topping of its recipe whose colour is
    likeliest on its photos over the others, if that likelihood ratio exceeds ``ratio``. No colour is
    set by hand; it finds the toppings whose colour no other pizza shows (olives, jalapeno, green
    pepper) where the shared classifier, pulled by the sauce and cheese around them, misses them."""
    bins = (images.astype(int) * levels // 256) @ np.array([levels * levels, levels, 1])  # (N, S, S)

    def histogram(photos: np.ndarray) -> np.ndarray:
        h = np.bincount(bins[photos][inner[photos]], minlength=levels**3).astype(np.float64)
        h = ndi.gaussian_filter(h.reshape((levels,) * 3), 0.7).ravel()
        return h / h.sum()

    likelier = {}
    for name in TOPPINGS:
        has = np.array([name in r.ingredients for r in recipes])
        if has.any():
            likelier[name] = histogram(has) / (histogram(~has) + 1e-6)
    maps = np.zeros(bins.shape, np.uint8)
    for b, recipe in enumerate(recipes):
        toppings = [name for name in recipe.ingredients if name in TOPPINGS]
        if not toppings:
            continue
        r = np.stack([likelier[name][bins[b]] for name in toppings])  # (T, S, S)
        layer = np.array([1 + LAYERS.index(name) for name in toppings])[r.argmax(0)]
        maps[b] = np.where((r.max(0) > ratio) & inner[b], layer, 0)
    return maps


def stand_out(image: np.ndarray, window: int = 13) -> np.ndarray:
    """(S, S): each pixel's Lab distance to the median colour of the ``window`` px square around it,
    the base there (pieces are smaller than the window, so its median is the cheese and sauce)."""
    base = np.stack([ndi.median_filter(image[..., c], size=window) for c in range(3)], -1)
    return np.linalg.norm(lab(image) - lab(base), axis=-1)


def redder(image: np.ndarray, window: int = 15) -> np.ndarray:
    """(S, S): how many degrees each pixel's Lab hue is redder than the median hue of the ``window`` px square around
    it, where it has colour (chroma over 15) and light (L over 45; pink ham on pinkish cheese differs in hue); 0 elsewhere."""
    lab_ = lab(image)
    hue = np.degrees(np.arctan2(lab_[..., 2], lab_[..., 1]))  # 0: red, 90: yellow
    coloured = (np.hypot(lab_[..., 1], lab_[..., 2]) > 15) & (lab_[..., 0] > 45)
    return np.where(coloured, ndi.median_filter(hue, size=window) - hue, 0)


def lighter(image: np.ndarray, window: int = 15) -> np.ndarray:
    """(S, S): how much lighter (Lab L) each pixel is than the median of the ``window`` px square around it,
    where it is nearly white (chroma under 25; white feta on cream cheese differs in lightness alone); 0 elsewhere."""
    lab_ = lab(image)
    pale = np.hypot(lab_[..., 1], lab_[..., 2]) < 25
    return np.where(pale, lab_[..., 0] - ndi.median_filter(lab_[..., 0], size=window), 0)


VIVID = ("vivid", "pink", "white")  # the ways of ``vivid_layers``, each the option naming its toppings


def purple(colour: np.ndarray) -> np.ndarray:
    """CIE Lab (..., 3) -> (...) bool: red and blue, no yellow (a* over 15, b* under 0), as no sauce, cheese, crust or
    meat is."""
    return (colour[..., 1] > 15) & (colour[..., 2] < 0)


def olive(colour: np.ndarray) -> np.ndarray:
    """CIE Lab (..., 3) -> (...) bool: olive to khaki (hue 85 to 140 degrees, chroma over 15) and darker than any cheese
    or pale sauce (L* under 68), as dried herbs are."""
    hue = np.degrees(np.arctan2(colour[..., 2], colour[..., 1]))
    return (hue > 85) & (hue < 140) & (np.hypot(colour[..., 1], colour[..., 2]) > 15) & (colour[..., 0] < 68)


# Toppings shown by their colour alone: the test their pixels pass, and the toppings of that colour too, whose photos
# are not read for it. Red onion's slivers are 1-2 px wide at the bank's side; oregano is a dust of 1 px flecks, which
# the classifier took for orange sauce specks.
BY_COLOUR = {"red_onion": (purple, ()), "oregano": (olive, ("bell_pepper", "jalapeno", "pickles", "basil"))}


def topping_colours(images: np.ndarray, inner: np.ndarray, recipes: list, tests: dict = BY_COLOUR, least: int = 10) -> dict:
    """Per topping of ``tests``: a row [photo, r, g, b, pixels] for each photo of it, and of none of its look-alikes,
    with at least ``least`` pixels of its colour in its sauce disc, r, g, b their median colour.

    On the 20 photos purple pixels are 0-3 a pizza without red onion, 0-59 with it (14-59 on the 3 where its rings
    show: dark purple skins, pink flesh), and hundreds on the lingonberry pizza, which has none: a photo with both
    would need another cue. Olive pixels are 0-1 a pizza without a green topping, 1-60 with oregano (60 on the Cheese
    pizza, where its flecks show, 14 on the Italian), 10 with pickles and hundreds with green pepper, jalapeno or basil."""
    colour = lab(images.astype(np.float64))
    colours = {}
    for name, (test, alike) in tests.items():
        shown = test(colour) & inner  # (N, S, S)
        rows = [[b, *np.median(images[b][shown[b]], 0).round().astype(int).tolist(), int(shown[b].sum())]
                for b, recipe in enumerate(recipes)
                if name in recipe.ingredients and not set(alike) & set(recipe.ingredients) and shown[b].sum() >= least]
        if rows:
            colours[name] = rows
    return colours


def vivid_layers(image: np.ndarray, inner: np.ndarray, toppings: list[str]) -> dict[str, np.ndarray]:
    """The layer maps of ``vivid_maps`` by each of ``VIVID``: blobs standing out from the base around them, redder
    than it, whiter than it (the last two noisy pixel by pixel: blobs of at least 3 x 3 px)."""
    hue_shift, light = redder(image), lighter(image)
    return {"vivid": vivid_maps(image, inner, toppings, stand_out(image)),
            "pink": vivid_maps(image, inner, toppings, np.where(ndi.binary_opening(hue_shift > 8), hue_shift, 0), seed=16, grow=8),
            "white": vivid_maps(image, inner, toppings, np.where(ndi.binary_opening(light > 6), light, 0), seed=12, grow=6, near=60)}


def vivid_maps(image: np.ndarray, inner: np.ndarray, toppings: list[str], distance: np.ndarray,
               seed: float = 45, grow: float = 28, near: float = 50) -> np.ndarray:
    """(S, S) layer map of the pieces that stand out from the base around them (0: not claimed).

    A blob is where ``distance`` (``stand_out``, ``redder`` or ``lighter``) exceeds ``grow`` and somewhere ``seed`` (hysteresis:
    whole pieces, not their brightest pixels); it shows the recipe's topping whose kitchen colour is
    nearest its mean colour, if that is within ``near`` (Lab). Finds the vivid pieces on pale cheese
    (diced tomatoes) that the shared classifier, fitted on coverage and colour spread, leaves as base."""
    out = np.zeros(inner.shape, np.uint8)
    if not toppings:
        return out
    labels, _ = ndi.label((distance > grow) & inner)
    strong = np.unique(labels[(distance > seed) & inner])
    for i in strong[strong > 0]:
        blob = labels == i
        colour = image[blob].mean(0)
        name = nearest_topping(colour, toppings)
        if np.linalg.norm(lab(np.array(TOPPINGS[name].colour, np.float64)) - lab(colour)) < near:
            out[blob] = 1 + LAYERS.index(name)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", default="../shared/datasets/dodo20")
    parser.add_argument("--out", default="pizza_models/kitchen/photo_bank")
    parser.add_argument("--sheet", default="docs/painted/photo_layers.png")
    parser.add_argument("--per-ingredient", type=int, default=8)
    parser.add_argument("--steps", type=int, default=500, help="steps of the pixel classifier")
    parser.add_argument("--vivid", nargs="*", default=["tomatoes"], help="toppings cut where they stand out from the base (stand_out)")
    parser.add_argument("--pink", nargs="*", default=["ham"], help="toppings cut where redder than the base around them (redder)")
    parser.add_argument("--white", nargs="*", default=["feta"], help="toppings cut where whiter than the base around them (lighter)")
    parser.add_argument("--reuse-layers", action="store_true", help="take the layer maps from the bank in --out")
    parser.add_argument("--refill", choices=sorted(REFILLS), default="shifted", help="how the bases refill toppings (base_refill.py)")
    args = parser.parse_args()
    photos = read_manifest(Path(args.photos) / "recipes.csv")
    images, inner, allowed, cover, geometry = [], [], [], [], []
    for photo in photos:
        image = np.asarray(Image.open(photo.path).convert("RGB").resize((BANK_SIDE, BANK_SIDE), Image.BICUBIC))
        cx, cy, radius = disc_geometry(image)
        images.append(image)
        inner.append(radius_map(BANK_SIDE, cx, cy, radius) < INNER)
        allowed.append([True] + [name in photo.recipe.ingredients for name in LAYERS])
        cover.append(kitchen_cover(photo.recipe))
        geometry.append((cx, cy, radius))
    images, inner = np.stack(images), np.stack(inner)
    if args.reuse_layers:  # the layer maps of an earlier build, to redo the pieces and bases alone
        shows = PhotoBank.load(args.out).shows
    else:
        shows = fit_pixel_classifier(images, inner, np.array(allowed), np.stack(cover), args.steps)
    refill = shows.copy()  # what the bases refill: the layer maps and the vivid pieces (the bank keeps the maps alone)
    cut: dict[str, dict[str, list]] = {kind: {} for kind in ("classifier", *VIVID)}  # kind -> topping -> pieces
    for b, photo in enumerate(photos):
        toppings = [name for name in photo.recipe.ingredients if name in TOPPINGS]
        # On busy pizzas a vivid blob is often two toppings touching: only where one or two are ordered is it not in doubt.
        sources = {"classifier": shows[b], **vivid_layers(images[b], inner[b], toppings if len(toppings) <= 2 else [])}
        for name in toppings:
            gate = lambda colour, name=name: nearest_topping(colour, toppings) == name  # noqa: E731
            layer, radius = 1 + LAYERS.index(name), piece_radius(name, geometry[b][2])
            for kind, source in sources.items():
                for solidity, rgba in cut_pieces(images[b], source, layer, radius, gate, is_thin(name)):
                    cut[kind].setdefault(name, []).append((solidity, b, rgba))
        for kind in VIVID:  # vivid pieces the classifier left as base are refilled too
            refill[b] = np.where(refill[b] == 0, sources[kind], refill[b])
    # --vivid, --pink and --white toppings take those pieces (chosen by eye: the classifier cut diced tomatoes as pale
    # blobs of cheese, ham brown (mushroom gills), no feta at all; elsewhere its pieces are as good or better).
    pieces = cut["classifier"]
    for kind in VIVID:
        pieces.update({name: f for name, f in cut[kind].items() if name in getattr(args, kind) and len(f) >= MIN_PIECES})
    # Toppings the classifier gave too few pieces of take them from the colour contrast, if it finds
    # enough (fewer are likelier a stray look-alike than the topping); their pixels join the layer maps.
    colours = colour_maps(images, inner, [p.recipe for p in photos])
    for name in TOPPINGS:
        if len(pieces.get(name, [])) >= MIN_PIECES:
            continue
        layer, found = 1 + LAYERS.index(name), []
        for b, photo in enumerate(photos):
            if name in photo.recipe.ingredients:
                blobs = cut_pieces(images[b], colours[b], layer, piece_radius(name, geometry[b][2]), thin=is_thin(name))
                found += [(solidity, b, rgba) for solidity, rgba in blobs]
        if len(found) >= MIN_PIECES:
            pieces[name] = found
            for maps in (shows, refill):
                maps[(colours == layer) & (maps == 0)] = layer
    by_colour = topping_colours(images, inner, [p.recipe for p in photos])  # a topping shown by its colour has no pieces
    bank_pieces = {name: sorted(typical(found), key=lambda t: -t[0])[:args.per_ingredient] for name, found in pieces.items()
                   if name not in by_colour}
    drizzles = {}
    for name in list(DRIZZLES) + ["condensed_milk"]:
        sel = shows == 1 + LAYERS.index(name)
        if sel.any():  # the pixels of the layer nearest the kitchen's colour of the drizzle: the stroke, not its bed
            colours = images[sel].astype(np.float64)
            near = np.linalg.norm(lab(colours) - lab(np.array(Kitchen()._drizzle_colour(name), np.float64)), axis=-1)
            if np.quantile(near, 0.25) < 25:  # else the layer holds no pixel of that drizzle: the kitchen's colour stays
                drizzles[name] = colours[near <= np.quantile(near, 0.25)].mean(0).round().astype(int).tolist()
    bases = [REFILLS[args.refill](images[b], refill[b], inner[b], seed=b) for b in range(len(photos))]
    bank = PhotoBank.build(
        bases=np.stack(bases), geometry=geometry, inner=INNER,
        sauces=[[i for i in p.recipe.ingredients if i in SAUCES] for p in photos],
        cheese=["mozzarella" in p.recipe.ingredients for p in photos],
        pieces={name: [(b, rgba) for _, b, rgba in found] for name, found in bank_pieces.items()},
        drizzles=drizzles, shows=shows, names=[p.path.stem for p in photos], colours=by_colour)
    bank.save(args.out)
    for name in LAYERS:
        found = len(pieces.get(name, []))
        if name in TOPPINGS:
            print(f"{name:16s} {found:3d} pieces found, {len(bank_pieces.get(name, [])):d} kept")
    if args.sheet:
        contact_sheet(images, refill, bases, bank, photos, args.sheet)


def contact_sheet(images, shows, bases, bank, photos, path: str) -> None:
    """Each photo, its layers coloured over it, and its refilled base; then every piece of the bank."""
    from pizza_models.kitchen.bank import layer_palette

    palette = layer_palette()
    rows = []
    for b in range(len(photos)):
        overlay = images[b].astype(np.float32)
        on = shows[b] > 0
        overlay[on] = 0.25 * overlay[on] + 0.75 * palette[shows[b][on]]
        rows.append(np.concatenate([images[b], overlay.astype(np.uint8), bases[b]], 1))
    grid = [np.concatenate(rows[i:i + 4], 1) for i in range(0, len(rows), 4)]
    sheet = Image.fromarray(np.concatenate(grid, 0))
    sheet = sheet.resize((sheet.width * 2, sheet.height * 2), Image.NEAREST)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    bank.piece_sheet().save(str(Path(path).with_name("photo_pieces.png")))


if __name__ == "__main__":
    main()

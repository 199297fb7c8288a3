"""The photo bank: what the 20 menu photos give the painted kitchen, cut from them once.

The photos with their toppings refilled (bases), each pixel's layer (which ingredient it shows), the real
pieces of each topping as sprites, the drizzles' and some toppings' colours. Built from the photos by
``scripts/photo_layers.py``; it ships with the package (``pizza_models/kitchen/photo_bank``, about 0.75 MB),
the photos themselves never do. ``PhotoBank.subset`` keeps only what some photos gave, so that a model can be
built from some photos and judged on the others.
"""

from __future__ import annotations

import colorsys
import functools
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from PIL import Image

from ..compositing import moved
from ..data import to_tensor
from .procedural import DRIZZLES, TOPPINGS

BANK = Path(__file__).with_name("photo_bank")
BANK_SIDE = 108  # the photos' side in the bank (they are 107-110 px)
CELL = 24  # a piece sprite's side in the bank, in photo pixels
LAYERS = tuple(TOPPINGS) + tuple(DRIZZLES) + ("condensed_milk",)  # layer k of a photo's map is LAYERS[k - 1]
WHOLE = ("none", "white", "all")  # which photos a crust table lays whole (``PhotoBank.crust_fields``)


def layer_palette() -> np.ndarray:
    """(1 + L, 3) float colours to show a photo's layer map: black base, one hue per layer."""
    hues = [colorsys.hsv_to_rgb((k * 0.381966) % 1, 0.9, 1.0) for k in range(len(LAYERS))]
    return np.array([(0, 0, 0)] + hues, np.float32) * 255


def recoloured(sprite: np.ndarray, colour: Sequence[int]) -> np.ndarray:
    """A (C, C, 4) uint8 piece in another ``colour``: its shading kept (each texel's luma over the opaque texels'
    mean scales the colour), its alpha as it was."""
    rgb = sprite[..., :3].astype(np.float32)
    luma = rgb @ np.array([0.299, 0.587, 0.114], np.float32)  # (C, C)
    opaque = sprite[..., 3] >= 128
    shade = luma / max(float(luma[opaque].mean()) if opaque.any() else 1.0, 1.0)
    out = np.clip(np.round(np.asarray(colour, np.float32) * shade[..., None]), 0, 255).astype(np.uint8)
    return np.concatenate([out, sprite[..., 3:]], -1)


@dataclass(frozen=True)
class PhotoBank:
    """What the photos give the painted kitchen, all at ``BANK_SIDE`` px.

    ``bases`` (N, S, S, 3) uint8 the photos with their toppings refilled; ``geometry`` (N, 3) their
    centre and radius in px; ``sauces``/``cheese`` what each photo's base is; ``pieces`` maps a topping
    to its sprites (K, CELL, CELL, 4) uint8 and ``piece_photo`` to the photo each came from;
    ``drizzles`` the mean colour of each drizzle; ``shows`` (N, S, S) uint8 the layer each photo pixel
    shows (0 base, k: ``LAYERS[k - 1]``); ``names`` the photos' file stems; ``colours`` maps a topping with no
    pieces to rows [photo, r, g, b, pixels]: the colour its photos show it in, where only its colour gives it away."""

    bases: np.ndarray
    geometry: np.ndarray
    inner: float
    sauces: tuple
    cheese: tuple
    pieces: dict
    piece_photo: dict
    drizzles: dict
    shows: np.ndarray
    names: tuple
    photos: tuple = ()  # the photo indices this bank keeps (all by default)
    colours: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.photos:
            object.__setattr__(self, "photos", tuple(range(len(self.bases))))

    @classmethod
    def build(cls, bases, geometry, inner, sauces, cheese, pieces, drizzles, shows, names, colours=None) -> "PhotoBank":
        """From the photo tools' output; ``pieces`` maps a topping to [(photo index, (CELL, CELL, 4) RGBA)]."""
        return cls(np.asarray(bases, np.uint8), np.asarray(geometry, np.float32), float(inner),
                   tuple(tuple(s) for s in sauces), tuple(bool(c) for c in cheese),
                   {k: np.stack([r for _, r in v]) for k, v in pieces.items() if v},
                   {k: np.array([b for b, _ in v]) for k, v in pieces.items() if v},
                   dict(drizzles), np.asarray(shows, np.uint8), tuple(names), colours=dict(colours or {}))

    # ------------------------------------------------------------------ files

    def save(self, folder: str | Path) -> None:
        """bases.png and shows.png (photos side by side), pieces.png (one row per topping), bank.json."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.concatenate(list(self.bases), 1)).save(folder / "bases.png", optimize=True)
        Image.fromarray(np.concatenate(list(self.shows), 1), "L").save(folder / "shows.png", optimize=True)
        rows = max(len(v) for v in self.pieces.values())
        atlas = np.zeros((len(self.pieces) * CELL, rows * CELL, 4), np.uint8)
        for r, sprites in enumerate(self.pieces.values()):
            for c, sprite in enumerate(sprites):
                atlas[r * CELL:(r + 1) * CELL, c * CELL:(c + 1) * CELL] = sprite
        Image.fromarray(atlas, "RGBA").save(folder / "pieces.png", optimize=True)
        meta = dict(side=BANK_SIDE, cell=CELL, layers=list(LAYERS), inner=self.inner, names=list(self.names),
                    geometry=self.geometry.round(3).tolist(), sauces=[list(s) for s in self.sauces], cheese=list(self.cheese),
                    pieces={k: self.piece_photo[k].tolist() for k in self.pieces}, drizzles=self.drizzles, colours=self.colours)
        (folder / "bank.json").write_text(json.dumps(meta, indent=1))

    @classmethod
    def load(cls, folder: str | Path = BANK) -> "PhotoBank":
        """The bank saved in ``folder`` (the one shipped with the package by default)."""
        folder = Path(folder)
        meta = json.loads((folder / "bank.json").read_text())
        if meta["side"] != BANK_SIDE or meta["cell"] != CELL or tuple(meta["layers"]) != LAYERS:
            raise ValueError(f"{folder}: a photo bank of another layout (side, cell or layers differ); rebuild it")
        n = len(meta["names"])
        bases = np.asarray(Image.open(folder / "bases.png").convert("RGB")).reshape(BANK_SIDE, n, BANK_SIDE, 3).swapaxes(0, 1)
        shows = np.asarray(Image.open(folder / "shows.png")).reshape(BANK_SIDE, n, BANK_SIDE).swapaxes(0, 1)
        atlas = np.asarray(Image.open(folder / "pieces.png").convert("RGBA"))
        pieces, piece_photo = {}, {}
        for r, (name, photos) in enumerate(meta["pieces"].items()):
            pieces[name] = np.stack([atlas[r * CELL:(r + 1) * CELL, c * CELL:(c + 1) * CELL] for c in range(len(photos))])
            piece_photo[name] = np.array(photos)
        return cls(np.ascontiguousarray(bases), np.array(meta["geometry"], np.float32), meta["inner"],
                   tuple(tuple(s) for s in meta["sauces"]), tuple(meta["cheese"]), pieces, piece_photo,
                   meta["drizzles"], np.ascontiguousarray(shows), tuple(meta["names"]), colours=meta.get("colours", {}))

    def subset(self, photos: Sequence[int]) -> "PhotoBank":
        """The bank as if built from these photos only: their bases, their pieces, their drizzles and colours.
        A topping none of them shows has no pieces (the painted kitchen then draws its clip-art piece)."""
        keep = sorted(set(int(p) for p in photos))
        pieces = {k: v[np.isin(self.piece_photo[k], keep)] for k, v in self.pieces.items()}
        piece_photo = {k: v[np.isin(v, keep)] for k, v in self.piece_photo.items()}
        drizzles = {k: v for k, v in self.drizzles.items() if (self.shows[keep] == 1 + LAYERS.index(k)).any()}
        colours = {k: [row for row in rows if row[0] in keep] for k, rows in self.colours.items()}
        return replace(self, pieces={k: v for k, v in pieces.items() if len(v)},
                       piece_photo={k: v for k, v in piece_photo.items() if len(v)}, drizzles=drizzles, photos=tuple(keep),
                       colours={k: rows for k, rows in colours.items() if rows})

    def borrowing(self, kin: dict[str, tuple[str, tuple[int, int, int]]]) -> "PhotoBank":
        """The bank with pieces for toppings the photos give none of: each topping of ``kin`` (name -> (a kindred
        topping, its own colour)) takes the kindred topping's real pieces, recoloured (``recoloured``), as from their
        photos; a topping with pieces of its own, or whose kin has none here, is left as it is."""
        pieces, piece_photo = dict(self.pieces), dict(self.piece_photo)
        for name, (source, colour) in kin.items():
            if name not in pieces and source in pieces:
                pieces[name] = np.stack([recoloured(sprite, colour) for sprite in self.pieces[source]])
                piece_photo[name] = self.piece_photo[source]
        return replace(self, pieces=pieces, piece_photo=piece_photo)

    def seen(self, hold_out: str = "") -> list[int]:
        """The indices of the bank's photos but those ``hold_out`` names (indices, comma-separated; '' keeps them all)."""
        try:
            held = {int(i) for i in hold_out.split(",") if i.strip()}
        except ValueError:
            raise ValueError(f"--hold-out {hold_out!r}: photo indices, comma-separated (e.g. 2,4,6,19)") from None
        if not held <= set(range(len(self.names))):
            raise ValueError(f"--hold-out {hold_out}: the photo bank has photos 0 to {len(self.names) - 1}")
        return [i for i in range(len(self.names)) if i not in held]

    def crust_fields(self, hold_out: str = "", whole: str = "none") -> dict:
        """A layered model's config fields for a crust table of the photos ``seen``: their names, what their bases are
        (sauces, then mozzarella where they have it), so that a pizza lays a crust of its own kind of base, and the
        photos laid ``whole`` (base and crust): "none", "white" (those without tomato sauce) or "all"."""
        seen = self.seen(hold_out)
        if whole not in WHOLE:
            raise ValueError(f"whole: one of {', '.join(WHOLE)}, not {whole!r}")
        white = [i for i in seen if "tomato_sauce" not in self.sauces[i]]
        return {"crusts": tuple(self.names[i] for i in seen),
                "crust_bases": tuple(tuple(self.sauces[i]) + ("mozzarella",) * bool(self.cheese[i]) for i in seen),
                "crust_whole": tuple(self.names[i] for i in {"none": [], "white": white, "all": seen}[whole])}

    def crust_table(self, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """The bases as a layered model's crust table: (K, 3, S, S) pictures in [0, 1], each resized and quantised as
        ``data.to_tensor`` reads a photo, moved by whole pixels so that its pizza's centre is the picture's (white
        where it moved in), and their radii (K,) as a share of the side."""
        pictures = []
        for base, (px, py, _) in zip(self.bases, self.geometry.tolist()):
            x = ((to_tensor(Image.fromarray(base), size) + 1) * 127.5).round() / 255  # (3, S, S): as a photo is read
            pictures.append(moved(x, round(size / 2 - px * size / BANK_SIDE), round(size / 2 - py * size / BANK_SIDE)))
        return torch.stack(pictures), torch.as_tensor(self.geometry[:, 2] / BANK_SIDE, dtype=torch.float32)

    def piece_sheet(self, scale: int = 3) -> Image.Image:
        """Every sprite of the bank on a light grey board, one row per topping."""
        cols = max(len(v) for v in self.pieces.values())
        board = Image.new("RGBA", (cols * CELL, len(self.pieces) * CELL), (226, 226, 226, 255))
        for r, sprites in enumerate(self.pieces.values()):
            for c, sprite in enumerate(sprites):
                board.alpha_composite(Image.fromarray(sprite, "RGBA"), (c * CELL, r * CELL))
        return board.convert("RGB").resize((board.width * scale, board.height * scale), Image.NEAREST)

    def base_for(self, sauce: Optional[str], cheese: bool, rng: np.random.Generator) -> int:
        """A photo whose base suits the recipe: its first sauce and cheese if one has both, else its sauce,
        else any; picked at random among the suitable ones, the less refilled the likelier."""
        first = (sauce,) if sauce else ()
        both = [b for b in self.photos if self.sauces[b][:1] == first and self.cheese[b] == cheese]
        same = [b for b in self.photos if sauce in self.sauces[b]]
        suitable = both or same or list(self.photos)
        # Photos with few toppings had little to refill: their bases are the most real.
        weight = np.array([(self.shows[b] == 0).mean() for b in suitable]) ** 4
        return int(rng.choice(suitable, p=weight / weight.sum()))


@functools.lru_cache(maxsize=1)
def shipped_bank() -> PhotoBank:
    """The bank shipped with the package, loaded once."""
    return PhotoBank.load(BANK)


__all__ = ["BANK", "BANK_SIDE", "CELL", "LAYERS", "PhotoBank", "WHOLE", "layer_palette", "recoloured", "shipped_bank"]

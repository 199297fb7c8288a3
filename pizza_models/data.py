"""Data sets: photos from a manifest CSV, pizzas from the kitchen, and the original 720-view augmentation.

Every data set yields ``(image, code)``: image (3, H, W) float in [-1, 1], code the recipe encoded
with ``recipe.encode`` (``counts`` or ``slot_code``). Datasets also expose ``recipes`` so that
callers (evaluation, sample grids) can see what they hold.
"""

from __future__ import annotations

import csv
import io
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Optional, Sequence, Union

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torch.utils.data import Dataset, IterableDataset, get_worker_info
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF
from tqdm import tqdm

from .recipe_sampler import kitchen_recipes, sample_recipe
from .recipe import DEFAULT_VOCABULARY, Recipe, Vocabulary, encode, parse_recipe

MAX_PIXELS = 16_000_000  # a loaded image keeps at most this many pixels (64 MB as Pillow holds RGB): larger ones shrink
# The most memory a full-scale decode (PNG, WebP, GIF...) may take, counted as Pillow holds pixels (RGB in 4 bytes,
# grey in 1): 128 MiB, e.g. 11000x11000 grey or 5600x5600 RGB(A). Larger ones are refused from the header, so
# with the shrinking and converting that follow, loading one image peaks under ~300 MB.
MAX_DECODE_BYTES = 128 * 2**20
MAX_PIXELS_PER_BYTE = 100  # above MAX_PIXELS, a file this compressed is a decompression bomb, not a photo
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "LA": 4, "PA": 4, "La": 4, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
VIEWS = 720  # the original augmentation: 360 one-degree rotations, with and without a mirror flip


class ManifestError(ValueError):
    """Every problem of a manifest at once, one line per row."""


# --------------------------------------------------------------------------- images


def load_image(
    source: Union[str, Path, bytes, BinaryIO], name: Optional[str] = None, max_side: Optional[int] = None,
    min_side: int = 1, max_aspect: float = math.inf,
) -> Image.Image:
    """Open any still image as RGB, safely: EXIF rotation applied, alpha composited on white.

    An image over ``MAX_PIXELS`` is downscaled to fit: a JPEG is decoded at 1/2, 1/4 or 1/8 scale
    (never holding its full-size pixels), any other format is decoded whole and then shrunk, which
    is refused from the header when its pixels would take over ``MAX_DECODE_BYTES``. Raises
    ``ValueError`` naming the file when it is empty, not an image, truncated or too large to
    decode, or over ``MAX_PIXELS`` with more than ``MAX_PIXELS_PER_BYTE`` pixels per byte of file
    (a few hundred KB of zeros that would decode to hundreds of MB). ``max_side`` shrinks the image
    to fit that many pixels a side as early as possible (a JPEG is decoded at reduced scale), so
    its full size is never converted or copied. Animated images give their first frame; 16-bit and
    palette images are converted. ``image.info["uploaded_size"]`` keeps the upload's own (width,
    height), upright. ``min_side`` and ``max_aspect`` refuse, from the header, an image with a side
    under that many pixels or a long side over that many times its short one (a strip, not a photo).
    """
    name = name or (str(source) if isinstance(source, (str, Path)) else "upload")
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    image, uploaded = _decode(source, name, max_side, min_side, max_aspect)
    return _upright_rgb(image, uploaded, max_side)


def _decode(source: Union[str, Path, BinaryIO], name: str, max_side: Optional[int], min_side: int,
            max_aspect: float) -> tuple[Image.Image, tuple[int, int]]:
    """``load_image``'s decoding: every size checked from the header first, a large JPEG decoded at
    reduced scale. Returns the image and the upload's own (width, height); refusals as ValueError."""
    file_bytes = _size_of(source)
    try:
        with warnings.catch_warnings():
            # Sizes are checked below from the header, before decoding; Pillow's own warning would
            # refuse JPEGs that draft() can shrink. Its hard limit (DecompressionBombError) still holds.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(source)
            uploaded = image.size  # (width, height) as stored, before any reduction
            pixels = image.width * image.height
            short, long = sorted(image.size)
            if short < min_side:
                raise ValueError(f"{name}: {image.width}x{image.height} pixels is too small to be a photo "
                                 f"of a pizza (at least {min_side} pixels a side)")
            if long > max_aspect * short:
                raise ValueError(f"{name}: {image.width}x{image.height} is a strip, not a photo of a pizza (one side "
                                 f"{long / short:.0f} times the other; at most {max_aspect:g} times)")
            if pixels > MAX_PIXELS and file_bytes and pixels > MAX_PIXELS_PER_BYTE * file_bytes:
                raise ValueError(
                    f"{name}: {image.width}x{image.height} pixels from {file_bytes / 1e3:.0f} KB is too large to "
                    f"decode safely ({pixels // file_bytes} pixels per byte: a decompression bomb, not a photo)"
                )
            if max_side and image.format == "JPEG":
                image.draft("RGB", (max_side, max_side))  # the smallest JPEG scale still at least max_side
            if image.width * image.height > MAX_PIXELS and image.format == "JPEG":
                reduction = next((r for r in (2, 4, 8) if image.width * image.height <= MAX_PIXELS * r * r), 8)
                image.draft("RGB", (image.width // reduction, image.height // reduction))
            decoded = image.width * image.height * _BYTES_PER_PIXEL.get(image.mode, 4)
            if decoded > MAX_DECODE_BYTES:
                raise ValueError(
                    f"{name}: {image.width}x{image.height} is too large to decode safely "
                    f"({image.width * image.height / 1e6:.0f} MP would take {decoded / 2**20:.0f} MB; "
                    f"at most {MAX_DECODE_BYTES / 2**20:.0f} MB, {MAX_DECODE_BYTES / 4e6:.0f} MP in colour)"
                )
            image.seek(0)
            image.load()
    except FileNotFoundError:
        raise ValueError(f"{name}: no such file") from None
    except UnidentifiedImageError:
        raise ValueError(f"{name}: not an image (or a format Pillow cannot read)") from None
    except Image.DecompressionBombError as error:  # over twice Pillow's own limit, refused from the header
        raise ValueError(f"{name}: too large to decode safely ({error})") from None
    except (OSError, SyntaxError) as error:
        raise ValueError(f"{name}: unreadable image ({error})") from None
    return image, uploaded


def _upright_rgb(image: Image.Image, uploaded: tuple[int, int], max_side: Optional[int]) -> Image.Image:
    """``load_image``'s conversion of a decoded image: shrunk first (``max_side``, ``MAX_PIXELS``), then
    turned upright (EXIF), 8-bit RGB with alpha composited on white; ``info["uploaded_size"]`` upright."""
    if max_side and max(image.size) > max_side:  # shrink before any conversion copies the full size
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)
    if image.width * image.height > MAX_PIXELS:
        scale = (MAX_PIXELS / (image.width * image.height)) ** 0.5
        # reducing_gap: box-reduce by an integer factor first, then a short bicubic resize (fast on 100+ MP)
        image.thumbnail((int(image.width * scale), int(image.height * scale)), Image.Resampling.BICUBIC, reducing_gap=3.0)
    stored = image.size
    image = ImageOps.exif_transpose(image)
    if image.size != stored:  # turned by 90 degrees: the upload's width is now its height
        uploaded = uploaded[::-1]
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grey: scale to 8 bits, not clip
        array = np.asarray(image, dtype=np.float32)
        image = Image.fromarray((array * 255.0 / max(float(array.max()), 1.0)).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        image = image.convert("RGBA")
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image)
    if image.mode != "RGB":  # converting to the same mode would copy: one full-size copy less at the peak
        image = image.convert("RGB")
    image.info["uploaded_size"] = uploaded
    return image


def _size_of(source: Union[str, Path, BinaryIO]) -> Optional[int]:
    """The byte size of a file path or seekable binary file (None when unknown)."""
    try:
        if isinstance(source, (str, Path)):
            return Path(source).stat().st_size
        position = source.seek(0, io.SEEK_END)
        source.seek(0)
        return position
    except (OSError, AttributeError, ValueError):
        return None


def to_tensor(image: Image.Image, size: int) -> torch.Tensor:
    """A PIL image as a (3, size, size) float tensor in [-1, 1]: centre square crop, antialiased resize."""
    x = TF.to_image(image)  # (3, H, W) uint8
    side = min(x.shape[-2:])
    x = TF.center_crop(x, [side, side])
    x = TF.resize(x, [size, size], interpolation=InterpolationMode.BICUBIC, antialias=True)
    return TF.to_dtype(x, torch.float32, scale=True) * 2 - 1


def to_pil(x: torch.Tensor) -> Image.Image:
    """Inverse of ``to_tensor`` for one (3, H, W) image in [-1, 1]."""
    return TF.to_pil_image(((x.detach().float().cpu().clamp(-1, 1) + 1) / 2))


# --------------------------------------------------------------------------- augmentation


def rotate_view(x: torch.Tensor, angle: float, flip: bool) -> torch.Tensor:
    """One view of the original augmentation: optional mirror flip, then rotation by ``angle`` degrees.

    Borders are filled by replicating the edge, like the original's ``fill_mode="nearest"``: the
    image is edge-padded enough that no corner of the rotated square reaches outside, rotated
    about its centre, and cropped back. x: (..., 3, H, W).
    """
    size = x.shape[-2:]
    pad = int(np.ceil(max(size) * (np.sqrt(2) - 1) / 2)) + 1
    if flip:
        x = TF.horizontal_flip(x)
    x = TF.pad(x, [pad], padding_mode="edge")
    x = TF.rotate(x, angle, interpolation=InterpolationMode.BILINEAR)
    return TF.center_crop(x, list(size))


def view_params(view: int) -> tuple[float, bool]:
    """View 0..719 -> (angle in degrees, mirrored): views 360..719 are the mirrored ones."""
    return float(view % 360), view >= 360


class Rotations(Dataset):
    """The original experiment's augmentation of a data set, without storing any copy.

    ``len`` is ``len(dataset) * views``: item i is view ``i % views`` of image ``i // views``
    (angles evenly spread over 360 degrees, then the mirrored ones), or with ``random=True`` a
    random angle and flip per access (the same epoch size, fresh views every epoch).
    """

    def __init__(self, dataset: Dataset, views: int = VIEWS, random: bool = False, seed: int = 0):
        if views < 1 or views > VIEWS:
            raise ValueError(f"views must be between 1 and {VIEWS}, got {views}")
        self.dataset, self.views, self.random = dataset, views, random
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.dataset) * self.views

    def __getitem__(self, i: int):
        image, code = self.dataset[i // self.views]
        if self.random:
            angle = float(torch.rand((), generator=self.generator) * 360)
            flip = bool(torch.randint(2, (), generator=self.generator))
        else:
            view = (i % self.views) * VIEWS // self.views
            angle, flip = view_params(view)
        if self.views > 1 or self.random:
            image = rotate_view(image, angle, flip)
        return image, code

    @property
    def recipes(self) -> list[Recipe]:
        return self.dataset.recipes


# --------------------------------------------------------------------------- manifests


@dataclass(frozen=True)
class Photo:
    """One manifest row, checked."""

    row: int
    path: Path
    recipe: Recipe


def _read_text(path: Path) -> str:
    """Manifest text as UTF-8; a cp1251 file (the original experiment's encoding) is detected and read."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        text = data.decode("cp1251", errors="replace")
        if any("а" <= ch <= "я" or "А" <= ch <= "Я" for ch in text) and "\ufffd" not in text:
            warnings.warn(f"{path}: not UTF-8; read as cp1251 (Windows Cyrillic). Save it as UTF-8 to silence this.")
            return text
        raise ManifestError(f"{path}: not UTF-8 text ({error}); save the manifest as UTF-8") from None


def read_manifest(path: Union[str, Path], vocabulary: Vocabulary = DEFAULT_VOCABULARY) -> list[Photo]:
    """Read and check a manifest CSV with columns ``image,ingredients`` (paths relative to the CSV).

    Missing columns, missing files, unreadable images, unknown ingredients and bad recipes are
    all collected and raised together in one ``ManifestError``, each with its row number (the
    header is row 1, as a spreadsheet shows it).
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: no such manifest file")
    rows = list(csv.DictReader(io.StringIO(_read_text(path))))
    columns = set(rows[0]) if rows else set()
    missing = [c for c in ("image", "ingredients") if c not in columns]
    if missing or not rows:
        found = ", ".join(sorted(c for c in columns if c)) or "nothing"
        raise ManifestError(f"{path}: needs columns image,ingredients (missing {', '.join(missing) or 'rows'}; found {found})")
    photos, problems = [], []
    for row_number, row in enumerate(rows, start=2):
        image_path = path.parent / (row.get("image") or "").strip()
        try:
            recipe = parse_recipe(row.get("ingredients") or "", vocabulary)
        except ValueError as error:
            problems.append(f"row {row_number}: {error}")
            recipe = None
        if not (row.get("image") or "").strip():
            problems.append(f"row {row_number}: no image path")
            continue
        try:
            load_image(image_path)
        except ValueError as error:
            problems.append(f"row {row_number}: {error}")
            continue
        if recipe is not None:
            photos.append(Photo(row_number, image_path, recipe))
    if problems:
        raise ManifestError(f"{path}: {len(problems)} problem(s):\n" + "\n".join(problems))
    return photos


class PhotoDataset(Dataset):
    """Photos and recipes from a manifest (or its row ``only``), decoded once and kept as (N, 3, size, size) in [-1, 1]."""

    def __init__(
        self,
        manifest: Union[str, Path],
        image_size: int = 64,
        encoding: str = "counts",
        vocabulary: Vocabulary = DEFAULT_VOCABULARY,
        only: Optional[int] = None,
    ):
        self.photos = read_manifest(manifest, vocabulary)
        if only is not None:  # one photo of the manifest (row ``only``, from 0)
            if not 0 <= only < len(self.photos):
                raise ValueError(f"photo {only} does not exist: the manifest has {len(self.photos)} (0 to {len(self.photos) - 1})")
            self.photos = [self.photos[only]]
        self.vocabulary, self.encoding = vocabulary, encoding
        self.images = torch.stack([to_tensor(load_image(p.path), image_size) for p in self.photos])
        self.codes = torch.stack([encode(p.recipe, encoding, vocabulary) for p in self.photos])

    def __len__(self) -> int:
        return len(self.photos)

    def __getitem__(self, i: int):
        return self.images[i], self.codes[i]

    @property
    def recipes(self) -> list[Recipe]:
        return [p.recipe for p in self.photos]


# --------------------------------------------------------------------------- the kitchen


def _kitchen(vocabulary: Vocabulary):
    # Imported here, not at the top: reading photos (the app, loading a checkpoint) needs no kitchen.
    from .kitchen.procedural import Kitchen

    return Kitchen(vocabulary)


class KitchenDataset(Dataset):
    """``n`` kitchen pizzas rendered once and cached as uint8 (n, 3, size, size); exact labels.

    Pizza i is ``recipes[i]`` rendered with seed ``seed * 1_000_003 + i``, so a data set is fully
    determined by (n, size, seed).
    """

    def __init__(
        self,
        n: int,
        image_size: int = 64,
        seed: int = 0,
        encoding: str = "counts",
        vocabulary: Vocabulary = DEFAULT_VOCABULARY,
        recipes: Optional[Sequence[Recipe]] = None,
        progress: bool = False,
    ):
        kitchen = _kitchen(vocabulary)
        self.vocabulary, self.encoding = vocabulary, encoding
        self._recipes = list(recipes) if recipes is not None else kitchen_recipes(n, seed, vocabulary)
        indices = range(len(self._recipes))
        if progress:
            indices = tqdm(indices, desc="rendering", unit="pizza", leave=False)
        self.images = torch.stack(
            [TF.to_image(kitchen.render(self._recipes[i], seed * 1_000_003 + i, image_size)) for i in indices]
        )  # (N, 3, H, W) uint8: a quarter of the memory of float
        self.codes = torch.stack([encode(r, encoding, vocabulary) for r in self._recipes])

    def __len__(self) -> int:
        return len(self._recipes)

    def __getitem__(self, i: int):
        return self.images[i].float() / 127.5 - 1, self.codes[i]

    @property
    def recipes(self) -> list[Recipe]:
        return self._recipes


class KitchenStream(IterableDataset):
    """An endless stream of fresh kitchen pizzas, rendered on the fly (each worker its own seeds)."""

    def __init__(
        self,
        image_size: int = 64,
        seed: int = 0,
        encoding: str = "counts",
        vocabulary: Vocabulary = DEFAULT_VOCABULARY,
    ):
        self.image_size, self.seed, self.encoding, self.vocabulary = image_size, seed, encoding, vocabulary

    def __iter__(self):
        worker = get_worker_info()
        stream = self.seed * 1009 + (worker.id if worker else 0)
        rng = np.random.default_rng(stream)
        kitchen = _kitchen(self.vocabulary)
        while True:
            recipe = sample_recipe(rng, self.vocabulary)
            image = kitchen.render(recipe, int(rng.integers(2**31)), self.image_size)
            yield TF.to_image(image).float() / 127.5 - 1, encode(recipe, self.encoding, self.vocabulary)

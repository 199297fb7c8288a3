"""Inference: load a checkpoint of any family, draw pizzas for recipes, restyle photos, guess recipes.

Everything is reproducible and free of global state: the latent noise comes from an explicit
``torch.Generator`` seeded by the caller, and models run under ``torch.inference_mode()``.
"""

import base64
import binascii
import contextlib
import math
import numbers
import threading
import weakref
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO, Sequence, Union

import torch
from PIL import Image
from torch import nn

from .accel import autocast, channels_last, use_bf16
from .families.classifier import IngredientClassifier
from .data import load_image, to_pil, to_tensor
from .hub import CheckpointError, PizzaModel, read_config
from .recipe_sampler import single_ingredient_recipe
from .recipe import MAX_PORTIONS, Recipe, RecipeLike, encode, from_counts, parse_recipe
from .registry import model_classes

MAX_PHOTO_SIDE = 1024  # uploads are downscaled to this before anything else: models see 32-128 px
MAX_PHOTO_BYTES = 50 * 1024 * 1024  # the most read from one photo, however it arrives (file or data: URL)
MAX_NOISE = 10.0  # latent noise scales beyond this draw nothing new, only saturated colours
MAX_SEED = 2**63 - 1  # torch.Generator.manual_seed's range
MIN_PHOTO_SIDE = 32  # a photo with a shorter side holds no pizza a model can read
MAX_PHOTO_ASPECT = 4.0  # a long side over 4 times the short one is a strip, not a photo of a pizza


def load(model_id: Union[str, Path], device: str = "cpu") -> PizzaModel:
    """A checkpoint (local folder or hub id) as the model of its family, in eval mode on ``device``.

    Weights are stored channels-last, the layout the CPU's bf16 convolutions run fastest in
    (``benchmarks/generate_speed.py``); the pictures are the same.
    """
    family, known = read_config(model_id)["family"], model_classes()
    if family not in known:
        raise CheckpointError(f"{model_id}: a {family!r} checkpoint; loadable families are {', '.join(known)}")
    return channels_last(known[family].from_pretrained(model_id).to(device).eval())


def resolve_device(name: str) -> str:
    """A ``--device`` value as a torch device name: ``cpu``, ``cuda`` (``cuda:N``) or ``auto`` (the
    GPU when there is one, else the CPU). ``ValueError`` in one line for ``cuda`` without a GPU and
    for anything else."""
    name = str(name).strip().lower()
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cpu":
        return name
    if name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit()):
        if not torch.cuda.is_available():
            raise ValueError(f"--device {name}: no CUDA GPU is visible here; use --device cpu or auto")
        if ":" in name and int(name[5:]) >= torch.cuda.device_count():
            raise ValueError(f"--device {name}: there are {torch.cuda.device_count()} CUDA GPUs (cuda:0 to "
                             f"cuda:{torch.cuda.device_count() - 1})")
        return name
    raise ValueError(f"--device {name}: use cpu, cuda or auto")


def checkpoint_folders(root: Union[str, Path]) -> list[Path]:
    """The checkpoint folders ``root`` names: itself when it holds a config.json (a training run's
    folder), else every folder directly under it that does, by name. ``CheckpointError`` when none."""
    root = Path(root)
    if (root / "config.json").is_file():
        return [root]
    folders = sorted(p for p in root.iterdir() if (p / "config.json").is_file()) if root.is_dir() else []
    if not folders:
        raise CheckpointError(f"{root}: no checkpoint folders (each needs config.json and model.safetensors)")
    return folders


def load_shelf(root: Union[str, Path], device: str = "cpu") -> dict[str, PizzaModel]:
    """Every checkpoint folder directly under ``root`` (one with a config.json), by folder name; a
    checkpoint folder itself (a training run) gives just that model."""
    return {folder.name: load(folder, device) for folder in checkpoint_folders(root)}


def load_shelves(roots: Sequence[Union[str, Path]], device: str = "cpu") -> dict[str, PizzaModel]:
    """``load_shelf`` of each of ``roots`` in turn, on one shelf. A later folder whose name is taken
    is shelved under its path as given (``runs/gan`` beside the shipped ``gan``); one path twice is
    loaded once."""
    named: dict[str, Path] = {}
    for folder in [folder for root in roots for folder in checkpoint_folders(root)]:  # every folder found first
        if folder.resolve() not in {f.resolve() for f in named.values()}:
            named[folder.name if folder.name not in named else str(folder)] = folder
    return {name: load(folder, device) for name, folder in named.items()}


def _device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


# One model call at a time in this process, whatever thread makes it: the app answers some requests
# (a cached menu) outside its queue, and on a small CPU parallel calls only share the cores.
MODEL_LOCK = threading.RLock()


@contextlib.contextmanager
def _fast(model: nn.Module):
    """The model lock, and bf16 autocast where the device runs it natively (2-4x faster on such CPUs)."""
    device = _device(model)
    with MODEL_LOCK, autocast(device, use_bf16(device)):
        yield


def check_noise(noise: object) -> float:
    """``noise`` as a float in [0, ``MAX_NOISE``]; ``ValueError`` for NaN, infinities, non-numbers."""
    if isinstance(noise, bool) or not isinstance(noise, numbers.Real):
        raise ValueError(f"the latent noise must be a number, not {noise!r}")
    if not math.isfinite(noise) or not 0 <= noise <= MAX_NOISE:
        raise ValueError(f"the latent noise must be a finite number between 0 and {MAX_NOISE:g}, not {noise}")
    return float(noise)


def check_whole(value: object, what: str, low: int, high: int) -> int:
    """``value`` as an int in [low, high]; a float only when whole (JSON clients send 4.0 for 4);
    ``ValueError`` naming ``what`` for NaN, infinities, fractions and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} must be a whole number, not {value!r}")
    if not (math.isfinite(value) and float(value).is_integer()):
        raise ValueError(f"{what} must be a whole number, not {value}")
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low} and {high}, not {int(value)}")
    return int(value)


def clamp(value: object, what: str, low: float, high: float, whole: bool = False) -> Union[int, float]:
    """``value`` brought into [low, high] (rounded to an int when ``whole``): what a page does with
    a typed number out of range. ``ValueError`` naming ``what`` for NaN and non-numbers (an empty field)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or math.isnan(value):
        span = " to ".join(str(int(v)) if float(v).is_integer() else f"{v:g}" for v in (low, high))
        raise ValueError(f"{what} must be a number from {span}, not {value!r}")
    value = min(max(value, low), high)
    return int(round(value)) if whole else float(value)


def check_seed(seed: object) -> int:
    """``seed`` as an int in [0, ``MAX_SEED``] (see ``check_whole``)."""
    return check_whole(seed, "the seed", 0, MAX_SEED)


def latents(model: nn.Module, n: int, seed: int, noise: float) -> torch.Tensor:
    """The latents (n, latent_dim) of a sheet of ``n`` pizzas, on the CPU: drawn from an explicit
    generator, the same seed gives the same pizzas on any device. Row i depends on ``n`` (torch's
    normal sampler fills a tensor's last 16 values apart), so one pizza of a sheet needs the whole draw."""
    return model.sample_latent(n, generator=torch.Generator().manual_seed(seed), scale=noise, device="cpu")


@torch.inference_mode()
def generate(
    model: PizzaModel, recipes: Sequence[RecipeLike], n: int = 1, seed: int = 0, noise: float = 1.0,
) -> list[Image.Image]:
    """``n`` pizzas for each of ``recipes``, recipe by recipe, as PIL images.

    ``noise`` scales the latent sample: 0 gives the model's typical pizza for the recipe, 1 a
    sample from the prior. The same (model, recipes, n, seed, noise) gives the same pictures.
    """
    config = model.config
    seed, noise = check_seed(seed), check_noise(noise)
    parsed = [parse_recipe(r, config.vocabulary) for r in recipes for _ in range(n)]
    codes = torch.stack([encode(r, config.encoding, config.vocabulary) for r in parsed]).to(_device(model))
    z = latents(model, len(parsed), seed, noise)
    with _fast(model):
        images = model.draw(z.to(codes.device), codes)  # (B, 3, H, W) in [-1, 1]
    return [to_pil(x) for x in images]


@torch.inference_mode()
def interpolate(
    model: PizzaModel, start: RecipeLike, end: RecipeLike, steps: int = 8, seed: int = 0,
    noise: float = 1.0,
) -> list[Image.Image]:
    """``steps`` pizzas morphing from recipe ``start`` to ``end``: one latent, recipe codes blended
    linearly (a double portion passes through one and a half).

    A model may draw the same picture for neighbouring blends: the layered one draws every topping
    of either recipe as soon as it is asked for at all, so its blends were the start, then one
    pizza with both recipes' toppings six times, then the end. Then the strip fades from each
    distinct picture to the next instead (``fade_repeats``): every frame differs from its neighbours.
    """
    if steps < 2:
        raise ValueError(f"an interpolation needs at least 2 steps, not {steps}")
    seed, noise = check_seed(seed), check_noise(noise)
    config = model.config
    a, b = (encode(parse_recipe(r, config.vocabulary), config.encoding, config.vocabulary) for r in (start, end))
    t = torch.linspace(0, 1, steps)[:, None]
    codes = ((1 - t) * a + t * b).to(_device(model))  # (steps, cond_dim)
    z = latents(model, 1, seed, noise).expand(steps, -1).to(codes.device)
    with _fast(model):
        images = model.draw(z, codes)
    return [to_pil(x) for x in fade_repeats(images.float())]


def fade_repeats(frames: torch.Tensor) -> torch.Tensor:
    """A strip of pictures (N, ...) whose runs of identical neighbours become fades: each run is one
    key picture at the run's middle (the first and last runs at the strip's ends), and every frame
    is the linear blend of the key pictures on either side of it. A strip with no repeats, or of one
    picture throughout, comes back as it is."""
    runs, start = [], 0
    for i in range(1, len(frames) + 1):
        if i == len(frames) or not torch.equal(frames[i], frames[start]):
            runs.append((start, i - 1))
            start = i
    if len(runs) in (1, len(frames)):
        return frames
    keys = [(first + last) / 2 for first, last in runs]
    keys[0], keys[-1] = 0.0, float(len(frames) - 1)
    pictures = [frames[first] for first, _ in runs]
    faded = []
    for i in range(len(frames)):
        k = max(j for j, position in enumerate(keys) if position <= i)
        if k == len(keys) - 1:
            faded.append(pictures[k])
            continue
        w = (i - keys[k]) / (keys[k + 1] - keys[k])
        faded.append((1 - w) * pictures[k] + w * pictures[k + 1])
    return torch.stack(faded)


MENUS_KEPT = 8  # menu grids kept per model (28 small pictures each, ~100 KB)
_menus: "weakref.WeakKeyDictionary[nn.Module, OrderedDict]" = weakref.WeakKeyDictionary()
_menus_lock = threading.Lock()


def single_ingredient_menu(
    model: PizzaModel, seed: int = 0, noise: float = 0.0,
) -> list[tuple[Image.Image, str]]:
    """One pizza per ingredient of the model's vocabulary (the article's grid), with its display name.

    A grid never changes for a (model, seed, noise): the last ``MENUS_KEPT`` of each model are
    kept, so asking again answers at once, without a model call.
    """
    seed, noise = check_seed(seed), check_noise(noise)
    with _menus_lock:
        kept = _menus.setdefault(model, OrderedDict())
        if (seed, noise) in kept:
            kept.move_to_end((seed, noise))
            return list(kept[seed, noise])
    vocabulary = model.config.vocabulary
    recipes = [single_ingredient_recipe(ingredient.id, vocabulary) for ingredient in vocabulary]
    images = generate(model, recipes, seed=seed, noise=noise)
    menu = [(image, ingredient.name) for image, ingredient in zip(images, vocabulary)]
    with _menus_lock:
        kept[seed, noise] = menu
        while len(kept) > MENUS_KEPT:
            kept.popitem(last=False)
    return list(menu)


def distinct_drawers(shelf: dict[str, PizzaModel], names: Sequence[str]) -> list[str]:
    """``names`` (models on ``shelf`` that draw) less those that draw the very same pictures as one
    before them (a CVAE-GAN whose decoder is a GAN's generator draws that GAN's pizzas)."""
    recipe, kept, seen = ["tomato_sauce", "mozzarella", "pepperoni", "ham"], [], {}
    for name in names:
        model = shelf[name]
        try:
            drawing = (model.config.image_size, *(image.tobytes() for image in generate(model, [recipe], n=2, seed=7)))
        except ValueError:  # another vocabulary: it draws its own pictures
            drawing = (name,)
        if seen.setdefault(drawing, name) == name:
            kept.append(name)
    return kept


@torch.inference_mode()
def restyle(
    model: PizzaModel, image: Image.Image, source: RecipeLike, target: RecipeLike, seed: int = 0, noise: float = 0.0,
) -> tuple[Image.Image, Image.Image]:
    """Take ``image`` apart with its own recipe, put it back together with another: (reconstruction, restyled).

    ``noise`` 0 keeps the faithful reading of the picture; larger values sample around it with a
    seeded generator.
    """
    if not model.encodes:
        raise ValueError(f"restyling needs a model with an encoder that reads pictures; a {model.family!r} model only draws")
    seed, noise = check_seed(seed), check_noise(noise)
    config = model.config
    vocabulary, device = config.vocabulary, _device(model)
    x = to_tensor(image, config.image_size)[None].to(device)  # (1, 3, H, W) in [-1, 1]
    source_code = encode(parse_recipe(source, vocabulary), config.encoding, vocabulary)[None].to(device)
    target_code = encode(parse_recipe(target, vocabulary), config.encoding, vocabulary)[None].to(device)
    with _fast(model):
        reconstruction, restyled = model.restyle(x, source_code, target_code, noise, torch.Generator().manual_seed(seed))
    return to_pil(reconstruction[0]), to_pil(restyled[0])


@torch.inference_mode()
def ingredient_probabilities(classifier: IngredientClassifier, image: Image.Image) -> dict[str, float]:
    """The classifier's probability of each ingredient of its vocabulary being on ``image``, by id."""
    config = classifier.config
    x = to_tensor(image, config.image_size)[None].to(_device(classifier))
    with _fast(classifier):
        probabilities = classifier(x)[0].float().sigmoid()  # (V,)
    return dict(zip(config.vocabulary.ids, probabilities.tolist()))


def guess_recipe(classifier: IngredientClassifier, image: Image.Image, threshold: float = 0.5) -> Recipe:
    """The ingredients the classifier sees on ``image`` (single portions, at most the 9 likeliest)."""
    config = classifier.config
    probabilities = torch.tensor(list(ingredient_probabilities(classifier, image).values()))
    likeliest = probabilities.argsort(descending=True)[:MAX_PORTIONS]
    present = torch.zeros_like(probabilities)
    present[likeliest] = (probabilities[likeliest] >= threshold).float()
    return from_counts(present, config.vocabulary)


# --------------------------------------------------------------------------- photos


PhotoSource = Union[str, Path, bytes, BinaryIO]


def read_photo(
    source: PhotoSource, name: str = "upload", max_side: int = MAX_PHOTO_SIDE, max_bytes: int = MAX_PHOTO_BYTES,
) -> tuple[Image.Image, tuple[int, int]]:
    """An uploaded photo as RGB, downscaled to at most ``max_side`` pixels a side, and its size as
    uploaded (width, height). The one reader of every image the app is sent.

    ``source`` is a file path, a ``data:`` URL (decoded only when it fits), bytes or a binary
    file. Raises ``ValueError`` naming the photo by ``name`` only (never a server path) when it is
    over ``max_bytes``, not a readable image, too large to decode safely, under ``MIN_PHOTO_SIDE``
    pixels a side or more than ``MAX_PHOTO_ASPECT`` times longer than wide (``data.load_image``).
    """
    image = load_image(_photo_bytes(source, name, max_bytes), name, max_side=max_side, min_side=MIN_PHOTO_SIDE,
                       max_aspect=MAX_PHOTO_ASPECT)
    return image, image.info["uploaded_size"]


def _photo_bytes(source: PhotoSource, name: str, max_bytes: int) -> Union[bytes, BinaryIO]:
    """The photo's bytes (or open binary file), refused over ``max_bytes`` before anything is decoded."""
    if isinstance(source, str) and source.startswith("data:"):
        header, _, payload = source.partition(",")
        if len(payload) * 3 // 4 > max_bytes:
            raise ValueError(f"{name}: {len(payload) * 3 // 4 / 2**20:.0f} MB is over the {max_bytes / 2**20:.0f} MB limit")
        try:
            return base64.b64decode(payload, validate=True) if header.endswith(";base64") else payload.encode()
        except (binascii.Error, ValueError):
            raise ValueError(f"{name}: not a valid data: URL") from None
    if isinstance(source, (str, Path)):
        try:
            size = Path(source).stat().st_size
        except OSError:
            raise ValueError(f"{name}: no such file") from None
        if size > max_bytes:
            raise ValueError(f"{name}: {size / 2**20:.0f} MB is over the {max_bytes / 2**20:.0f} MB limit")
        return Path(source).read_bytes()
    if isinstance(source, bytes) and len(source) > max_bytes:
        raise ValueError(f"{name}: {len(source) / 2**20:.0f} MB is over the {max_bytes / 2**20:.0f} MB limit")
    return source


def enlarge(image: Image.Image, side: int) -> Image.Image:
    """``image`` scaled to ``side`` pixels a side: nearest neighbour when enlarging (each model pixel
    a crisp square), antialiased when shrinking; a non-square image is centre-cropped first."""
    edge = min(image.size)
    square = image.crop(((image.width - edge) // 2, (image.height - edge) // 2,
                         (image.width + edge) // 2, (image.height + edge) // 2))
    resample = Image.Resampling.NEAREST if edge <= side else Image.Resampling.LANCZOS
    return square.resize((side, side), resample)


def sheet(images: Sequence[Image.Image], columns: int = 4, gap: int = 2) -> Image.Image:
    """Pictures of one size in rows of ``columns`` (fewer for fewer pictures), ``gap`` white pixels
    apart: one small file to send instead of one per picture, at the models' own resolution."""
    if not images:
        raise ValueError("a sheet needs at least one picture")
    width, height = images[0].size
    if any(image.size != (width, height) for image in images):
        raise ValueError(f"the pictures of a sheet must share one size; got {sorted({i.size for i in images})}")
    columns = min(columns, len(images))
    rows = math.ceil(len(images) / columns)
    page = Image.new("RGB", (columns * (width + gap) - gap, rows * (height + gap) - gap), "white")
    for i, image in enumerate(images):
        page.paste(image, ((i % columns) * (width + gap), (i // columns) * (height + gap)))
    return page


def model_view(model: PizzaModel, image: Image.Image) -> Image.Image:
    """``image`` as ``model`` sees it: centre square, resized to its input size."""
    return to_pil(to_tensor(image.convert("RGB"), model.config.image_size))

"""Pictures to take away: enlarged PNGs that carry their recipe, and a making as an animation.

Models draw at 32-128 px. Every picture here is enlarged by a whole factor, the way it was drawn:
clip-art with nearest-neighbour resampling, each model pixel a crisp square; a photographic pizza
(the photo-painted model's) with Lanczos resampling, as a photo is enlarged, since its squares
would read as a mosaic of blotches. ``photographic`` tells the two apart, and the page uses it too
(``page_classes``).
"""

from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

import numpy as np
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from .cook import Step
from .filecache import takeaway
from .order import Order

SCALE = 4  # model pixels -> take-away pixels, per side
STEP_MS = 700  # how long an animation shows each step
LAST_MS = 2200  # ... and the finished pizza
CAPTION_PX = 28  # the band under each animation frame that names its step
INK, PAPER = (40, 40, 40), (255, 255, 255)
FLAT_LEVELS = 32  # a 3x3 patch is flat when every channel spans fewer grey levels (photo_measures.FLAT_THRESHOLD)
PLATE_LEVEL = 224  # patches with every pixel this light or lighter are the white plate around the pizzas
PHOTOGRAPHIC_FLAT_SHARE = 0.05  # 64 px menu pizzas: painted model 0.002-0.003, clip-art layered 0.20-0.31, gan 0.07-0.24


def photographic(images: Union[Image.Image, Sequence[Image.Image]]) -> bool:
    """Whether pictures read as photographs rather than clip-art: under ``PHOTOGRAPHIC_FLAT_SHARE`` of
    their 3x3 patches off the white plate are flat (every channel within ``FLAT_LEVELS`` grey levels),
    pooled over all of them. Flat fills (clip-art) and blur (the soft models) are flat; photos and
    the photo-painted model's pizzas, grainy at every pixel, are not. A picture all plate is not."""
    flat = on_plate = 0
    for image in [images] if isinstance(images, Image.Image) else images:
        x = np.asarray(image.convert("RGB"), dtype=np.int16)  # (H, W, 3)
        if min(x.shape[:2]) < 3:
            continue
        high, low = _window3(x, np.maximum), _window3(x, np.minimum)  # (H - 2, W - 2, 3): each 3x3 patch's max, min
        spread = (high - low).max(-1)  # (H - 2, W - 2)
        pizza = low.min(-1) < PLATE_LEVEL  # (H - 2, W - 2): some pixel darker than the plate
        flat, on_plate = flat + int((spread[pizza] < FLAT_LEVELS).sum()), on_plate + int(pizza.sum())
    return on_plate > 0 and flat < PHOTOGRAPHIC_FLAT_SHARE * on_plate


def _window3(x: np.ndarray, reduce) -> np.ndarray:
    """(H, W, C) -> (H - 2, W - 2, C): ``reduce`` (np.maximum or np.minimum) over each 3x3 patch, rows then columns."""
    rows = reduce(reduce(x[:-2], x[1:-1]), x[2:])
    return reduce(reduce(rows[:, :-2], rows[:, 1:-1]), rows[:, 2:])


def page_classes(images: Union[Image.Image, Sequence[Image.Image]]) -> list[str]:
    """The page's extra CSS classes for pictures it enlarges: ``["crisp"]`` (model pixels as squares,
    ``app.css``) for clip-art, none for photographic pictures (the browser enlarges them smoothly)."""
    return [] if photographic(images) else ["crisp"]


def enlarge(image: Image.Image, scale: int = SCALE, smooth: Optional[bool] = None) -> Image.Image:
    """``image`` ``scale`` times larger per side: each pixel a ``scale`` x ``scale`` square, or, when
    ``smooth`` (by default: when the picture is ``photographic``), resampled with Lanczos."""
    smooth = photographic(image) if smooth is None else smooth
    resample = Image.Resampling.LANCZOS if smooth else Image.Resampling.NEAREST
    return image.resize((image.width * scale, image.height * scale), resample)


def save_png(image: Image.Image, path: Union[str, Path], text: Mapping[str, str], scale: int = SCALE) -> Path:
    """Write ``image`` enlarged ``scale`` times as a PNG with ``text`` in its text chunks (tEXt, iTXt
    for non-Latin-1 values): what was drawn travels with the picture."""
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        if value.isascii():
            info.add_text(key, value)
        else:
            info.add_itxt(key, value)
    enlarge(image, scale).save(path, "PNG", pnginfo=info)
    return Path(path)


def captioned(image: Image.Image, caption: str, scale: int = SCALE, smooth: Optional[bool] = None) -> Image.Image:
    """``image`` ``enlarge``d ``scale`` times over a white band of ``CAPTION_PX`` pixels naming it."""
    big = enlarge(image.convert("RGB"), scale, smooth)
    frame = Image.new("RGB", (big.width, big.height + CAPTION_PX), PAPER)
    frame.paste(big, (0, 0))
    draw = ImageDraw.Draw(frame)
    caption, font = _fitted(draw, caption, big.width - 6)
    draw.multiline_text((big.width // 2, big.height + CAPTION_PX // 2), caption, fill=INK, font=font, anchor="mm",
                        align="center", spacing=1)
    return frame


def _fitted(draw: ImageDraw.ImageDraw, caption: str, width: int) -> tuple[str, ImageFont.ImageFont]:
    """``caption`` and a font that fit in ``width`` pixels: smaller type, then two lines, then "..."."""
    for size in (CAPTION_PX * 9 // 16, CAPTION_PX * 7 // 16):
        font = _font(size)
        if draw.textlength(caption, font=font) <= width:
            return caption, font
    words = caption.split(" ")
    halves = sorted(range(1, len(words)), key=lambda k: abs(len(" ".join(words[:k])) - len(caption) / 2))
    for k in halves:  # the most even cut first
        lines = " ".join(words[:k]), " ".join(words[k:])
        if max(draw.textlength(line, font=font) for line in lines) <= width:
            return "\n".join(lines), font
    while draw.textlength(caption, font=font) > width and len(caption) > 4:
        caption = caption[:-4].rstrip() + "..."
    return caption, font


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)  # Pillow's own scalable font: the same picture on any machine
    except (OSError, TypeError):  # Pillow built without FreeType: its bitmap font
        return ImageFont.load_default()


def save_animation(steps: Sequence[Step], path: Union[str, Path], scale: int = SCALE) -> Path:
    """Write a making as an animated GIF or WebP (by ``path``'s suffix), one frame per step, each
    enlarged ``scale`` times and named ("2/6 Tomato sauce") under the picture; it loops, lingering
    on the finished pizza. Every frame differs (its caption), so none is merged with its neighbour."""
    return _write_animation(animation_frames(steps, scale), Path(path))


def animation_frames(steps: Sequence[Step], scale: int = SCALE) -> list[Image.Image]:
    """The frames of a making's animation: each step ``captioned`` with its number and name, all
    enlarged alike (smoothly when the steps together are ``photographic``)."""
    if not steps:
        raise ValueError("an animation needs at least one step")
    smooth = photographic([step.image for step in steps])
    return [captioned(step.image, f"{i}/{len(steps)} {step.name}", scale, smooth) for i, step in enumerate(steps, 1)]


def _write_animation(frames: list[Image.Image], path: Path) -> Path:
    durations = [STEP_MS] * (len(frames) - 1) + [LAST_MS]
    if path.suffix.lower() == ".gif":
        # One palette per frame, no dithering: a 64 px pizza has far fewer colours than a GIF's 256.
        frames = [f.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE) for f in frames]
        frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=durations, loop=0)
    elif path.suffix.lower() == ".webp":  # lossless: every pixel as drawn
        frames[0].save(path, "WEBP", save_all=True, append_images=frames[1:], duration=durations, loop=0,
                       lossless=True)
    else:
        raise ValueError(f"an animation is a .gif or a .webp, not {path.name!r}")
    return path


def take_away(image: Image.Image, order: Order, index: Optional[int] = None) -> str:
    """The sheet ``order`` drew (or its pizza ``index``, from 0) as a download: a PNG enlarged
    ``SCALE`` times, named after the order, its recipe, model, seed and link in its text."""
    return str(save_png(image, takeaway(order.stem(index) + ".png"), order.text(index)))


def take_away_making(steps: Sequence[Step], stem: str) -> tuple[str, str]:
    """A making as downloads: the paths of its GIF and its WebP, named ``stem`` (one set of frames)."""
    frames = animation_frames(steps)
    return str(_write_animation(frames, takeaway(stem + ".gif"))), str(_write_animation(frames, takeaway(stem + ".webp")))

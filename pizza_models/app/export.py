"""Pictures to take away: enlarged PNGs that carry their recipe, and a making as an animation.

Models draw at 32-128 px. Every picture here is enlarged by a whole factor with nearest-neighbour
resampling, so that each model pixel becomes a crisp square instead of a blur.
"""

from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from .cook import Step
from .filecache import takeaway
from .order import Order

SCALE = 4  # model pixels -> take-away pixels, per side
STEP_MS = 700  # how long an animation shows each step
LAST_MS = 2200  # ... and the finished pizza
CAPTION_PX = 28  # the band under each animation frame that names its step
INK, PAPER = (40, 40, 40), (255, 255, 255)


def enlarge(image: Image.Image, scale: int = SCALE) -> Image.Image:
    """``image`` ``scale`` times larger per side, each pixel a ``scale`` x ``scale`` square."""
    return image.resize((image.width * scale, image.height * scale), Image.Resampling.NEAREST)


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


def captioned(image: Image.Image, caption: str, scale: int = SCALE) -> Image.Image:
    """``image`` enlarged ``scale`` times over a white band of ``CAPTION_PX`` pixels naming it."""
    big = enlarge(image.convert("RGB"), scale)
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
    """The frames of a making's animation: each step ``captioned`` with its number and name."""
    if not steps:
        raise ValueError("an animation needs at least one step")
    return [captioned(step.image, f"{i}/{len(steps)} {step.name}", scale) for i, step in enumerate(steps, 1)]


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

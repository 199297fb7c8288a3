"""Where the pizza lies in a photo: the square around its disc, as the menu photos are framed."""

import numpy as np
from PIL import Image


def disc_box(image: Image.Image, threshold: int = 40) -> tuple[int, int, int]:
    """(left, top, side) of the square around the pizza, as the dodo20 photos are framed: the disc fills
    it with a thin margin. It may reach past the photo's edges.

    The background colour is the median of the border pixels; the pizza is whatever differs from
    it by more than ``threshold`` in some channel (its 1st-99th percentile extent, so stray
    crumbs do not widen the box). A photo with no clear disc gets a centre square.
    """
    scale = min(1.0, 256 / max(image.size))  # find the disc on a small copy: the box is coarse anyway
    small = np.asarray(image.convert("RGB").resize((max(1, round(image.width * scale)),
                                                    max(1, round(image.height * scale)))), dtype=np.int16)
    border = np.concatenate([small[0], small[-1], small[:, 0], small[:, -1]])  # (P, 3)
    mask = (np.abs(small - np.median(border, axis=0)).max(axis=-1) > threshold)  # (h, w)
    side = min(image.size)
    box = ((image.width - side) / 2, (image.height - side) / 2)
    if mask.mean() > 0.01:
        ys, xs = np.nonzero(mask)
        y0, y1 = np.percentile(ys, [1, 99]) / scale
        x0, x1 = np.percentile(xs, [1, 99]) / scale
        side = min(max(y1 - y0, x1 - x0) * 1.04 + 2, max(image.size))  # a thin margin, as in dodo20
        box = ((x0 + x1 - side) / 2, (y0 + y1 - side) / 2)
    left, top = (round(v) for v in box)
    return left, top, max(1, round(side))


def crop_to_disc(image: Image.Image, threshold: int = 40) -> Image.Image:
    """The square ``disc_box`` frames, padded with the background where it leaves the photo."""
    left, top, side = disc_box(image, threshold)
    rgb = np.asarray(image.convert("RGB"))
    border = np.concatenate([rgb[0], rgb[-1], rgb[:, 0], rgb[:, -1]])
    fill = tuple(int(v) for v in np.median(border, axis=0))
    # Pad with the background where the square leaves the photo, instead of stretching the pizza.
    canvas = Image.new("RGB", (side, side), fill)
    canvas.paste(image.convert("RGB"), (-left, -top))
    return canvas


__all__ = ["crop_to_disc", "disc_box"]

"""Two ways to refill a photo's topping pixels with base, for the photo bank (``photo_layers.py --refill``).

- ``shifted_refill``: every topping pixel from the same photo shifted a few pixels, where the shifted pixel is base
  (the photo's own sauce specks, cheese and browning). Where the layer maps are specks over half the sauce disc,
  neighbouring pixels come from different shifts: a mosaic, speckled where the photos' cheese is smooth.
- ``smooth_refill``: every topping pixel (and a 1 px rim round each, the pieces' edges) the normalised Gaussian
  average of the base pixels around it, wider where there are none: the photo's soft cheese and sauce without specks.
"""

import numpy as np
from scipy import ndimage as ndi


def shifted_refill(image: np.ndarray, shows: np.ndarray, inner: np.ndarray, seed: int = 0) -> np.ndarray:
    """image (S, S, 3) uint8 with every pixel that ``shows`` (S, S) a topping inside ``inner`` (S, S) bool replaced by
    the pixel of the same photo shifted by the first of up to 200 random shifts (at most 14 px) that is base there."""
    rng = np.random.default_rng(seed)
    holes = (shows > 0) & inner
    source = inner & ~holes
    out, todo = image.copy(), holes.copy()
    for _ in range(200):
        if not todo.any():
            break
        dy, dx = rng.integers(-14, 15, 2)
        shifted, usable = (np.roll(a, (dy, dx), (0, 1)) for a in (image, source))
        take = todo & usable
        out[take], todo = shifted[take], todo & ~take
    return out


def smooth_refill(image: np.ndarray, shows: np.ndarray, inner: np.ndarray, seed: int = 0,
                  sigmas: tuple = (2.5, 5.0, 10.0, 20.0)) -> np.ndarray:
    """image (S, S, 3) uint8 with every pixel that ``shows`` a topping inside ``inner``, grown by 1 px, replaced by
    the Gaussian average (``sigmas[0]`` px) of the base pixels around it, normalised by their weight; where they
    weigh under 5% of the kernel, the next, wider sigma. ``seed`` is unused (the fill is deterministic)."""
    holes = ndi.binary_dilation((shows > 0) & inner) & inner
    base = (inner & ~holes).astype(np.float64)
    out, todo = image.astype(np.float64), holes.copy()
    for sigma in sigmas:
        weight = ndi.gaussian_filter(base, sigma)
        colour = np.stack([ndi.gaussian_filter(image[..., c] * base, sigma) for c in range(3)], -1)
        take = todo & (weight > 0.05)
        out[take] = colour[take] / weight[take, None]
        todo &= ~take
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


REFILLS = {"shifted": shifted_refill, "smooth": smooth_refill}

"""Refilling a photo's topping pixels with its base, for the photo bank: base pixels and everything outside the sauce
disc stay as they are; a shifted refill copies base pixels of the same photo, a smooth one averages them."""

import numpy as np
import pytest

from scripts.base_refill import REFILLS, shifted_refill, smooth_refill

SIDE = 32


@pytest.fixture
def photo():
    """A sauce disc of two halves (red left, cream right) with a square 'topping' of blue on the border between."""
    rng = np.random.default_rng(0)
    image = np.where(np.arange(SIDE)[None, :, None] < SIDE // 2, [200, 40, 30], [240, 220, 180]).repeat(SIDE, 0)
    image = np.clip(image + rng.integers(-5, 6, (SIDE, SIDE, 3)), 0, 255).astype(np.uint8)
    yy, xx = np.mgrid[:SIDE, :SIDE] + 0.5
    inner = np.hypot(yy - SIDE / 2, xx - SIDE / 2) < 0.45 * SIDE
    shows = np.zeros((SIDE, SIDE), np.uint8)
    shows[12:20, 12:20] = 3
    image[shows > 0] = (20, 20, 230)
    return image, shows, inner


@pytest.mark.parametrize("refill", sorted(REFILLS))
def test_a_refill_keeps_every_pixel_but_the_toppings_and_their_rim(photo, refill):
    image, shows, inner = photo
    out = REFILLS[refill](image, shows, inner, seed=0)
    grown = np.zeros_like(inner)
    grown[11:21, 11:21] = True  # the topping and a 1 px rim
    assert np.array_equal(out[~(grown & inner)], image[~(grown & inner)])


@pytest.mark.parametrize("refill", sorted(REFILLS))
def test_a_refill_leaves_no_topping_colour(photo, refill):
    image, shows, inner = photo
    out = REFILLS[refill](image, shows, inner, seed=0)
    assert out[shows > 0][:, 2].max() < 200  # no blue left


def test_the_shifted_refill_copies_base_pixels_of_the_same_photo(photo):
    image, shows, inner = photo
    out = shifted_refill(image, shows, inner, seed=0)
    base = {tuple(p) for p in image[inner & (shows == 0)]}
    assert all(tuple(p) in base for p in out[shows > 0])


def test_the_smooth_refill_blends_the_base_around_each_hole(photo):
    image, shows, inner = photo
    out = smooth_refill(image, shows, inner).astype(int)
    left, right = out[16, 12].astype(int), out[16, 19].astype(int)  # inside the hole, near the red and the cream halves
    assert left[0] > 190 and left[1] < right[1]  # red-ish where red is near, creamier towards the cream
    assert np.abs(np.diff(out[16, 12:20, 1])).max() < 90  # the halves differ by 180: a blend, no jump in one pixel

"""Pictures to take away: 4x PNGs with crisp pixels and their recipe inside, a making as a GIF and a WebP."""

import os

import numpy as np
import pytest
from PIL import Image

from pizza_models.app.cook import Step
from pizza_models.app.export import SCALE, animation_frames, enlarge, photographic, save_animation, save_png, take_away
from pizza_models.app.filecache import forget_old, takeaway
from pizza_models.app.order import Order
from pizza_models.kitchen.painted import PaintedKitchen
from pizza_models.kitchen.procedural import Kitchen
from pizza_models.recipe import parse_recipe

ORDER = Order(("tomato_sauce", "mozzarella", "ham"), ("ham",), 0.35, 7, 4, "layered")


def picture(seed: int = 0, side: int = 8) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8))


def steps(n: int) -> list[Step]:
    return [Step(f"step {i}", picture(i)) for i in range(n)]


def clip_art(seed: int = 0, side: int = 8) -> Image.Image:
    """Flat 4 x 4 px fills of random colours (darker than the white plate)."""
    cells = np.random.default_rng(seed).integers(0, 200, (side // 4, side // 4, 3), dtype=np.uint8)
    return Image.fromarray(cells.repeat(4, 0).repeat(4, 1))


def test_enlarging_clip_art_makes_each_pixel_a_crisp_square():
    small = clip_art()
    big = np.asarray(enlarge(small))
    assert big.shape == (8 * SCALE, 8 * SCALE, 3)
    assert (big == np.asarray(small).repeat(SCALE, 0).repeat(SCALE, 1)).all()


def test_a_photographic_picture_is_enlarged_smoothly():
    small = picture()
    big = enlarge(small)
    assert big.size == (8 * SCALE, 8 * SCALE)
    assert big.tobytes() == small.resize(big.size, Image.Resampling.LANCZOS).tobytes()


def test_photographic_tells_the_painted_kitchen_from_the_clip_art_kitchen():
    recipe = parse_recipe(["tomato_sauce", "mozzarella", "pepperoni", "mushrooms"])
    assert photographic([PaintedKitchen().render(recipe, seed, 64) for seed in range(4)])
    assert not photographic([Kitchen().render(recipe, seed, 64) for seed in range(4)])
    assert not photographic(Image.new("RGB", (64, 64), "white"))  # all plate: nothing to enlarge smoothly


def test_a_making_is_enlarged_one_way_for_all_its_steps():
    # Half of the patches flat: clip-art as a whole, so the grainy step comes as crisp squares too.
    frames = animation_frames([Step("dough", clip_art(1, 16)), Step("pizza", picture(2, 16))])
    grainy = np.asarray(frames[1])[: 16 * SCALE]
    assert (grainy == np.asarray(picture(2, 16)).repeat(SCALE, 0).repeat(SCALE, 1)).all()


def test_a_downloaded_pizza_carries_its_recipe_and_link(tmp_path):
    path = save_png(picture(), tmp_path / "pizza.png", ORDER.text(index=2))
    saved = Image.open(path)
    assert saved.size == (32, 32)
    assert saved.text["Recipe"] == "tomato_sauce, mozzarella, ham, ham"
    assert saved.text["Description"] == "Tomato sauce, Mozzarella, Ham (double)"
    assert saved.text["Title"] == "Neural Pizzaiolo: pizza 3 of 4"
    assert saved.text["Link"] == "?" + ORDER.query() and saved.text["Seed"] == "7" and saved.text["Model"] == "layered"


def test_a_non_latin_text_is_kept(tmp_path):
    path = save_png(picture(), tmp_path / "pizza.png", {"Recipe": "ветчина"})
    assert Image.open(path).text["Recipe"] == "ветчина"


@pytest.mark.parametrize("suffix", [".gif", ".webp"])
def test_an_animation_has_one_frame_per_step(tmp_path, suffix):
    animation = Image.open(save_animation(steps(5), tmp_path / f"making{suffix}"))
    assert animation.n_frames == 5 and animation.size == (8 * SCALE, 8 * SCALE + 28)


@pytest.mark.parametrize("suffix", [".gif", ".webp"])
def test_identical_pictures_still_make_one_frame_each(tmp_path, suffix):
    same = [Step(f"step {i}", picture()) for i in range(3)]  # the captions differ
    assert Image.open(save_animation(same, tmp_path / f"making{suffix}")).n_frames == 3


def test_the_webp_keeps_every_pixel(tmp_path):
    animation = Image.open(save_animation(steps(2), tmp_path / "making.webp"))
    animation.seek(1)
    shown = np.asarray(animation.convert("RGB"))[: 8 * SCALE]
    assert (shown == np.asarray(enlarge(picture(1)))).all()


def test_an_animation_of_another_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="a .gif or a .webp, not 'making.mp4'"):
        save_animation(steps(2), tmp_path / "making.mp4")


def test_a_take_away_file_lands_in_the_cache_named_after_its_order(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    path = take_away(picture(), ORDER, index=0)
    assert path.startswith(str(tmp_path.resolve())) and path.endswith("/pizza1-layered-seed7.png")


def test_a_take_away_name_is_made_safe(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    assert takeaway("pizzas-runs/gan 64-seed0.png").name == "pizzas-runs-gan-64-seed0.png"


def test_old_take_away_files_are_forgotten(tmp_path):
    old, new = tmp_path / "a" / "old.png", tmp_path / "b" / "new.png"
    for path in (old, new):
        path.parent.mkdir()
        path.write_bytes(b"png")
    forget_old(tmp_path, max_age_s=60)
    assert old.exists()  # nothing is old yet
    os.utime(old, (0, 0))
    os.utime(old.parent, (0, 0))
    forget_old(tmp_path, max_age_s=60)
    assert not old.exists() and new.exists()

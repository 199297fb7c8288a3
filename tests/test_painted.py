"""The painted kitchen: the clip-art kitchen's layouts and layers, painted with pieces and bases from the photos,
as densely as the photos are covered."""

import numpy as np
import pytest
from scipy import ndimage as ndi

from pizza_models.compositing import SHADOW, shadowed
from pizza_models.kitchen.procedural import Kitchen
from pizza_models.kitchen.bank import BANK_SIDE, LAYERS, PhotoBank, recoloured, shipped_bank
from pizza_models.kitchen.painted import FLECK, KIN, PHOTO_COVERAGE, PaintedKitchen
from pizza_models.recipe import Recipe
from scripts.photo_layers import colour_maps, lab, lighter, redder, stand_out, topping_colours, typical, vivid_maps

RECIPE = ["tomato_sauce", "mozzarella", "pepperoni", "olives", "bbq_sauce"]


@pytest.fixture(scope="module")
def painted():
    return PaintedKitchen()


def test_same_seed_same_pizza(painted):
    a, b = painted.render(RECIPE, 5, 64), painted.render(RECIPE, 5, 64)
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(painted.render(RECIPE, 6, 64)))


def test_render_is_its_layers_put_back_together(painted):
    layers = painted.render_layers(RECIPE, 3, 64)
    assert np.array_equal(np.asarray(layers.image()), np.asarray(painted.render(RECIPE, 3, 64)))
    assert [name for name, _ in layers.layers] == ["pepperoni", "olives", "bbq_sauce"]
    for _, rgba in layers.layers:  # premultiplied: colour never exceeds alpha
        assert rgba.shape == (64, 64, 4) and (rgba[..., :3] <= rgba[..., 3:] * 255 + 1e-3).all()


def test_layout_is_the_clip_art_kitchens_relative_to_the_pizza(painted):
    clip, paint = Kitchen().render_layers(RECIPE, 11, 64), painted.render_layers(RECIPE, 11, 64)
    c, p = clip.geometry, paint.geometry
    assert p.rotation == c.rotation and np.isclose(p.inner / p.radius, c.inner / c.radius)
    for name in ("pepperoni", "olives"):
        # piece places in units of the sauce disc, and piece sizes relative to it, are the clip-art kitchen's
        assert np.allclose((clip.pieces[name].xy - (c.cx, c.cy)) / c.inner, (paint.pieces[name].xy - (p.cx, p.cy)) / p.inner)
        assert np.allclose(clip.pieces[name].size / c.inner, paint.pieces[name].size / p.inner)
    assert clip.strokes == paint.strokes


def test_the_pizza_fills_the_frame_as_in_the_photos(painted):
    # The photos' pizzas reach 0.486 to 0.506 of the side from their centre; the clip-art kitchen's at most 0.476.
    bank = shipped_bank()
    low, high = bank.geometry[:, 2].min() / BANK_SIDE, bank.geometry[:, 2].max() / BANK_SIDE
    radii = [painted.render_layers(RECIPE, seed, 64).geometry.radius for seed in range(40)]
    assert low <= min(radii) and max(radii) <= high and max(radii) - min(radii) > 0.5 * (high - low)
    assert max(Kitchen().render_layers(RECIPE, seed, 64).geometry.radius for seed in range(40)) < low


def test_drizzles_are_thinner_than_the_clip_arts_and_bend_the_same_way_each_time(painted):
    clip = dict(Kitchen().render_layers(RECIPE, 11, 64).layers)["bbq_sauce"][..., 3]  # (64, 64) alpha
    paint = dict(painted.render_layers(RECIPE, 11, 64).layers)["bbq_sauce"][..., 3]
    again = dict(painted.render_layers(RECIPE, 11, 64).layers)["bbq_sauce"][..., 3]
    assert 0.4 * clip.sum() < paint.sum() < 0.85 * clip.sum() and np.array_equal(paint, again)


def topping_cover(layers) -> float:
    """Share of the sauce disc under some topping piece (alpha > 0.5)."""
    g = layers.geometry
    yy, xx = (np.mgrid[:64, :64] + 0.5) / 64
    disc = np.hypot(xx - g.cx, yy - g.cy) < g.inner
    alpha = np.zeros((64, 64))
    for name, rgba in layers.layers:
        if name in layers.pieces:
            alpha += (1 - alpha) * rgba[..., 3]
    return float((alpha[disc] > 0.5).mean())


@pytest.mark.parametrize("recipe", [["tomato_sauce", "mozzarella", "pepperoni"],
                                    ["tomato_sauce", "mozzarella", "ham", "mushrooms", "olives", "bell_pepper"]])
def test_at_photo_coverage_toppings_cover_the_disc_as_densely_as_in_the_photos(painted, recipe):
    # The photos' layer maps put toppings on 0.32 to 0.74 of the sauce disc; the clip-art counts cover far less.
    dense = np.mean([topping_cover(PaintedKitchen(coverage=PHOTO_COVERAGE).render_layers(recipe, s, 64)) for s in range(6)])
    sparse = np.mean([topping_cover(painted.render_layers(recipe, s, 64)) for s in range(6)])
    assert 0.35 < dense < 0.8 and dense > sparse + 0.1


def test_the_same_layout_at_another_coverage_keeps_its_geometry_and_strokes(painted):
    sparse = PaintedKitchen(coverage=(0.1, 0.1)).render_layers(RECIPE, 4, 64)
    dense = PaintedKitchen(coverage=(0.7, 0.7)).render_layers(RECIPE, 4, 64)
    assert sparse.geometry == dense.geometry and sparse.strokes == dense.strokes
    assert len(dense.pieces["pepperoni"].xy) > len(sparse.pieces["pepperoni"].xy)


def test_pieces_vary_and_come_from_the_bank(painted):
    pieces = painted.render_layers(RECIPE, 2, 64).pieces["pepperoni"]
    bank = shipped_bank()
    assert pieces.variant is not None and len(np.unique(pieces.variant)) > 1
    assert pieces.variant.max() < len(bank.pieces["pepperoni"])


def flat_share(image, tolerance: int = 6) -> float:
    """Share of 3x3 windows in the pizza's middle whose colours all lie within ``tolerance`` levels."""
    a = np.asarray(image).astype(int)[12:52, 12:52]
    windows = np.lib.stride_tricks.sliding_window_view(a, (3, 3), axis=(0, 1))
    return float(((windows.max((-1, -2)) - windows.min((-1, -2))).max(-1) < tolerance).mean())


def test_the_pizza_is_not_clip_art(painted):
    # Real surfaces and pieces: no flat fills, where the clip-art kitchen's pieces are flat.
    recipe = ["tomato_sauce", "mozzarella", "pepperoni"]
    clip = np.mean([flat_share(Kitchen().render(recipe, s, 64)) for s in range(4)])
    paint = np.mean([flat_share(painted.render(recipe, s, 64)) for s in range(4)])
    assert clip > 0.02 and paint < 0.2 * clip


def test_bank_has_photo_pieces_of_the_common_toppings():
    bank = shipped_bank()
    assert len(bank.names) == 20 and bank.bases.shape[1:] == (108, 108, 3)
    assert {"pepperoni", "chicken", "mushrooms", "tomatoes", "pineapple"} <= set(bank.pieces)
    assert all(1 <= len(sprites) <= 8 for sprites in bank.pieces.values())


def test_bank_round_trip(tmp_path):
    bank = shipped_bank()
    bank.save(tmp_path)
    again = PhotoBank.load(tmp_path)
    assert np.array_equal(again.bases, bank.bases) and np.array_equal(again.shows, bank.shows)
    assert again.pieces.keys() == bank.pieces.keys()
    assert all(np.array_equal(again.pieces[k], bank.pieces[k]) for k in bank.pieces)
    assert again.colours == bank.colours and "red_onion" in bank.colours


def test_a_subset_bank_uses_only_its_photos():
    bank = shipped_bank()
    keep = [0, 15]  # the two pepperoni pizzas
    subset = bank.subset(keep)
    assert set(subset.pieces) <= {"pepperoni"}
    kitchen = PaintedKitchen(bank=subset)
    assert kitchen.render_layers(["tomato_sauce", "mozzarella", "pepperoni"], 0, 64).pieces["pepperoni"].variant is not None
    # a topping the subset has no piece of: at the models' 64 px, the clip-art kitchen's piece, exactly
    olives = kitchen.render_layers(["tomato_sauce", "mozzarella", "olives"], 0, 64)
    framed = Kitchen()
    framed._frame = kitchen._frame  # the clip-art kitchen's pizza at the painted kitchen's size and place
    clip = framed.render_layers(["tomato_sauce", "mozzarella", "olives"], 0, 64)
    assert olives.pieces["olives"].variant is None
    assert np.allclose(olives.layers[0][1], clip.layers[0][1], atol=0.6)  # colour levels; PIL rounds its box filter
    rng = np.random.default_rng(0)
    assert {subset.base_for("tomato_sauce", True, rng) for _ in range(20)} <= set(keep)


def test_red_onion_keeps_its_clip_art_shape_in_the_colour_its_photos_show():
    bank = shipped_bank()
    assert "red_onion" not in bank.pieces  # too thin to cut: its colour alone comes from the photos
    look = PaintedKitchen(bank=bank)._look("red_onion")
    rows = np.array(bank.colours["red_onion"], float)
    assert look.shape == Kitchen()._look("red_onion").shape
    assert np.allclose(look.colour, (rows[:, 1:4] * rows[:, 4:]).sum(0) / rows[:, 4].sum(), atol=0.5)
    lift = (np.array(look.detail) - look.colour) / (255 - np.array(look.colour))
    assert np.allclose(lift, lift[0], atol=0.01) and lift[0] > 0  # its highlight: the same colour, towards white
    # without a photo of it, the clip-art kitchen's colour
    assert PaintedKitchen(bank=bank.subset([0, 15]))._look("red_onion") == Kitchen()._look("red_onion")


@pytest.fixture(scope="module")
def no_ham():
    """Painted from Double Pepperoni, Italian and Pepperoni: no piece of ham, so beef keeps its clip-art shape."""
    return PaintedKitchen(bank=shipped_bank().subset([0, 11, 15]))


def test_clip_art_pieces_drawn_larger_than_the_photos_lie_over_a_soft_dark_shadow_falling_down_and_right(no_ham):
    beef = no_ham.render_layers(["tomato_sauce", "mozzarella", "beef"], 0, 256).layers[0][1]  # no piece of beef, nor of ham
    alpha = beef[..., 3]
    opaque, shadow = alpha > 0.99, (alpha > 0.02) & (alpha < 0.4)
    yy, xx = np.mgrid[:256, :256]
    assert xx[shadow].mean() > xx[opaque].mean() + 1 and yy[shadow].mean() > yy[opaque].mean() + 1
    colour = beef[shadow][:, :3] / beef[shadow][:, 3:]  # straight colour of the shadow's pixels
    assert np.abs(colour.mean(0) - SHADOW).max() < 25
    assert len(np.unique(np.round(alpha[shadow], 2))) > 10  # soft: its edge fades, not one level


def test_clip_art_pieces_drawn_larger_than_the_photos_are_no_sharper_than_the_photo_pieces(no_ham):
    def sharpest_step(ingredient: str, size: int) -> float:  # the largest change of alpha between neighbours
        layers = dict(no_ham.render_layers(["tomato_sauce", "mozzarella", "beef", "olives"], 0, size).layers)
        return float(np.abs(np.diff(layers[ingredient][..., 3], axis=1)).max())
    assert sharpest_step("beef", 256) <= sharpest_step("olives", 256)  # beef: clip-art; olives: cut from the photos
    assert sharpest_step("beef", 64) > 0.9  # at the models' 64 px, the clip-art kitchen's crisp edge (the test above)


def test_dried_herbs_drawn_larger_than_the_photos_are_flecks_of_the_photos_size(painted):
    def opaque_per_fleck(kitchen, size: int) -> float:  # pixels a fleck covers
        parts = kitchen.render_layers(["tomato_sauce", "mozzarella", "oregano"], 0, size)
        return float((dict(parts.layers)["oregano"][..., 3] > 0.5).sum()) / len(parts.pieces["oregano"].xy)
    photo_fleck = (2 * FLECK * 256 / BANK_SIDE) ** 2  # a 1 px fleck of the 108 px photos, enlarged to 256 px
    assert opaque_per_fleck(painted, 256) < 2 * photo_fleck < opaque_per_fleck(Kitchen(), 256) / 3  # clip-art: 6x


def test_pieces_drawn_larger_than_the_photos_keep_their_photos_hue(painted):
    def hue_spread(size: int) -> float:  # the largest spread of a* or b* (Lab) over the feta pieces' mean colours
        layer = dict(painted.render_layers(["tomato_sauce", "mozzarella", "feta"], 0, size).layers)["feta"]
        pieces, n = ndi.label(layer[..., 3] > 0.95)
        colours = [layer[..., :3][pieces == i].mean(0) / layer[..., 3][pieces == i].mean() for i in range(1, n + 1)
                   if (pieces == i).sum() >= 4]
        return float(lab(np.array(colours))[:, 1:].std(0).max())
    assert hue_spread(256) < 2 < hue_spread(64)  # white feta in one hue, not pink, mint and lilac; at 64 px as learned


def test_recoloured_takes_the_colour_and_keeps_the_shading_and_the_outline():
    sprite = np.zeros((4, 4, 4), np.uint8)
    sprite[1:3, 1:3] = [[[200, 40, 30, 255], [100, 20, 15, 255]], [[150, 30, 22, 255], [150, 30, 22, 128]]]
    out = recoloured(sprite, (90, 60, 40))
    assert np.array_equal(out[..., 3], sprite[..., 3])  # the outline and soft edge as they were
    opaque = sprite[..., 3] >= 128
    assert np.allclose(out[opaque][:, :3].mean(0), (90, 60, 40), atol=1.5)  # on average the colour given
    assert out[1, 1, 0] > out[2, 1, 0] > out[1, 2, 0]  # the lit texel stays lighter than the shaded one


def test_meats_without_a_photo_piece_borrow_their_kins_real_pieces_in_their_own_colour(painted):
    for name, (source, colour) in KIN.items():
        assert name not in shipped_bank().pieces  # no clean piece of its own
        parts = painted.render_layers(["tomato_sauce", "mozzarella", name], 2, 64)
        assert parts.pieces[name].variant is not None  # a sprite of the bank, as the real pieces are
        sprites = painted.bank.pieces[name]
        assert len(sprites) == len(shipped_bank().pieces[source])
        assert np.array_equal(sprites[..., 3], shipped_bank().pieces[source][..., 3])  # the kin's outlines
        opaque = sprites[..., 3] >= 128
        assert np.abs(sprites[opaque][:, :3].mean(0) - colour).max() < 20  # in the meat's colour, not the kin's


def test_without_its_kins_photos_a_meat_is_drawn_as_the_clip_art_kitchen_draws_it():
    kitchen = PaintedKitchen(bank=shipped_bank().subset([3, 5, 6]))  # Ham & Mushrooms, Margherita, Cheese: no pepperoni
    assert "hunter_sausages" not in kitchen.bank.pieces
    assert kitchen.render_layers(["tomato_sauce", "hunter_sausages"], 0, 64).pieces["hunter_sausages"].variant is None


def test_shadowed_lays_a_piece_over_its_alpha_fallen_down_and_right():
    piece = np.zeros((9, 9, 4), np.float32)
    piece[2:4, 2:4] = 1.0  # a white 2 x 2 px piece, opaque
    laid = shadowed(piece, 2)  # premultiplied
    assert np.array_equal(laid[2:4, 2:4], piece[2:4, 2:4])  # the piece itself unchanged
    assert np.allclose(laid[4:6, 4:6, 3], 0.45) and np.allclose(laid[4:6, 4:6, :3], np.float32(SHADOW) / 255 * 0.45)
    assert laid[..., 3].sum() == pytest.approx(4 + 4 * 0.45)  # nothing else
    soft = shadowed(piece, 2, soft=1.0)
    assert soft[..., 3].max() == 1.0 and (soft[..., 3] > 0).sum() > (laid[..., 3] > 0).sum()


def test_a_subset_bank_keeps_only_its_photos_colours():
    bank = shipped_bank()
    kept = [row[0] for row in bank.colours["red_onion"]][:1]
    assert [row[0] for row in bank.subset(kept + [0]).colours["red_onion"]] == kept


def test_topping_colours_find_red_onion_by_its_colour_alone():
    rng = np.random.default_rng(0)
    images = np.clip(rng.normal((214, 150, 90), 6, (3, 32, 32, 3)), 0, 255).astype(np.uint8)  # tomato sauce and cheese
    images[0, 8:12, 8:12] = (110, 50, 80)  # purple onion skins on the first photo
    images[1, 8:12, 8:12] = (200, 40, 30)  # red pepperoni on the second: no purple
    onion, other = Recipe(("tomato_sauce", "red_onion")), Recipe(("tomato_sauce", "pepperoni"))
    colours = topping_colours(images, np.ones((3, 32, 32), bool), [onion, other, onion])
    assert colours == {"red_onion": [[0, 110, 50, 80, 16]]}  # the third photo shows no purple: no colour from it


def test_topping_colours_find_oregano_by_its_olive_flecks_but_not_beside_green_toppings():
    rng = np.random.default_rng(0)
    images = np.clip(rng.normal((240, 215, 160), 6, (3, 32, 32, 3)), 0, 255).astype(np.uint8)  # pale cheese
    images[:, 8:12, 8:12] = (150, 140, 50)  # olive flecks on every photo
    oregano = Recipe(("mozzarella", "oregano"))
    colours = topping_colours(images, np.ones((3, 32, 32), bool), [oregano, Recipe(("mozzarella", "oregano", "bell_pepper")),
                                                                  Recipe(("mozzarella",))])
    assert colours == {"oregano": [[0, 150, 140, 50, 16]]}  # beside green pepper the olive could be the pepper's


def test_seen_names_every_photo_but_those_held_out():
    bank = shipped_bank()
    assert bank.seen() == list(range(len(bank.names)))
    assert bank.seen("2, 4,19") == [i for i in range(len(bank.names)) if i not in (2, 4, 19)]


@pytest.mark.parametrize("hold_out", ["2;4", "two", "20", "-1"])
def test_holding_out_a_photo_the_bank_lacks_is_a_clear_error(hold_out):
    with pytest.raises(ValueError, match="--hold-out"):
        shipped_bank().seen(hold_out)


def test_the_background_is_pure_white_as_in_the_photos(painted):
    # The photos lie on pure white; the light and colour jitter touch the pizza only.
    for seed in range(4):
        image = np.asarray(painted.render(RECIPE, seed, 64))
        assert (image[:2, :2] == 255).all() and (image[-2:, -2:] == 255).all()


def test_colour_contrast_claims_the_colour_only_its_topping_shows():
    rng = np.random.default_rng(0)
    images = np.clip(rng.normal((214, 170, 120), 6, (4, 32, 32, 3)), 0, 255).astype(np.uint8)  # cheese
    images[:2, 8:12, 8:12] = (30, 26, 32)  # olives on the first two photos only
    with_olives, without = Recipe(("tomato_sauce", "olives")), Recipe(("tomato_sauce", "pepperoni"))
    maps = colour_maps(images, np.ones((4, 32, 32), bool), [with_olives, with_olives, without, without])
    olives = maps == 1 + LAYERS.index("olives")
    assert olives[:2, 8:12, 8:12].all()
    assert olives.sum() == 2 * 16 and not maps[2:].any()


def test_vivid_maps_claim_whole_pieces_that_stand_out_as_the_nearest_topping():
    rng = np.random.default_rng(0)
    image = np.clip(rng.normal((236, 206, 160), 4, (40, 40, 3)), 0, 255).astype(np.uint8)  # pale cheese
    image[10:15, 10:15] = (225, 60, 35)  # a diced tomato
    image[25:30, 25:30] = (226, 196, 150)  # a piece barely darker than the cheese: not vivid
    toppings = ["tomatoes", "chicken"]
    maps = vivid_maps(image, np.ones((40, 40), bool), toppings, stand_out(image))
    assert (maps[10:15, 10:15] == 1 + LAYERS.index("tomatoes")).all()
    assert (maps > 0).sum() == 25


def test_redder_finds_pink_ham_on_yellowish_cheese_and_ignores_grey():
    image = np.full((40, 40, 3), (236, 206, 160), np.uint8)  # cheese: hue about 75 degrees
    image[10:16, 10:16] = (228, 160, 150)  # ham: as light, pinker (hue about 25 degrees)
    image[25:31, 25:31] = (120, 120, 120)  # grey: no hue to compare
    shift = redder(image)
    assert (shift[10:16, 10:16] > 30).all()
    assert (shift[25:31, 25:31] == 0).all() and np.abs(shift[:5, :5]).max() < 1


def test_lighter_finds_white_feta_on_cream_cheese_and_ignores_light_colour():
    image = np.full((40, 40, 3), (222, 196, 160), np.uint8)  # cream cheese
    image[10:15, 10:15] = (250, 248, 242)  # a feta cube: lighter, nearly white
    image[25:30, 25:30] = (255, 200, 60)  # a light yellow piece (pineapple): too much colour to be white
    light = lighter(image)
    assert (light[10:15, 10:15] > 10).all()
    assert (light[25:30, 25:30] == 0).all() and np.abs(light[:5, :5]).max() < 1


def test_typical_leaves_out_a_piece_of_odd_colour():
    def piece(colour) -> tuple:
        rgba = np.zeros((8, 8, 4), np.uint8)
        rgba[2:6, 2:6] = (*colour, 255)
        return 1.0, 0, rgba

    tan = [piece((190 + i, 150 + i, 110)) for i in range(6)]  # mushroom slices, a little apart
    green = piece((170, 190, 40))  # a green sliver the classifier took for one
    assert typical(tan + [green]) == tan

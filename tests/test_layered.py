"""The layered family: shapes, drawing order, absent ingredients, determinism, restyle, training, the photo
critic, round trip."""

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from pizza_models.hub import save_checkpoint
from pizza_models.kitchen.bank import shipped_bank
from pizza_models.kitchen.painted import PaintedKitchen
from pizza_models.kitchen.procedural import Kitchen
from pizza_models.compositing import lay, splat
from pizza_models.families.layered import LayeredConfig, LayeredPizza, split_latent
from pizza_models.families.layered_nets import unit_blurred
from pizza_models.losses import high_pass_energy
from pizza_models.pipeline import generate, load, model_view, restyle
from pizza_models.recipe import CHEESE, DEFAULT_VOCABULARY, SAUCE, encode, parse_recipe
from pizza_models.registry import model_classes
from train.__main__ import trainable
from train.common import Batch
from train.layered import LayeredKitchen, anchor_loss, build_layered, layered_data
from train.loop import train_step
from train.registry import hyper

PIECES = ("ham", "pepperoni", "mushrooms", "olives", "basil")
TINY = LayeredConfig(image_size=32, pieces=PIECES, strokes=("bbq_sauce",), channels=8, sprite_size=8, max_pieces=32)
PEPPERONI = "tomato_sauce, mozzarella, pepperoni, olives"


def codes(*recipes: str) -> torch.Tensor:
    return torch.stack([encode(parse_recipe(r), "counts", DEFAULT_VOCABULARY) for r in recipes])


@pytest.fixture(scope="module")
def model() -> LayeredPizza:
    torch.manual_seed(0)
    m = LayeredPizza(TINY).eval()
    with torch.no_grad():  # visible sprites, so that pieces show in the pictures
        m.sprites[:, 3] = 3.0
    return m


def test_the_family_registers_itself_and_can_draw_and_restyle():
    cls = model_classes()["layered"]
    assert cls is LayeredPizza and cls.draws and cls.encodes


def test_draw_gives_pictures_in_range(model):
    z = model.sample_latent(3, torch.Generator().manual_seed(0))
    x = model.draw(z, codes(PEPPERONI, "tomato_sauce", "cheese_sauce, ham, ham, bbq_sauce"))
    assert x.shape == (3, 3, 32, 32) and x.min() >= -1 and x.max() <= 1


def test_latent_splits_into_its_parts(model):
    parts = split_latent(torch.zeros(2, TINY.latent_dim), TINY)
    assert parts.pieces.shape == (2, len(PIECES), TINY.max_pieces, 5)
    assert parts.grain.shape == (2, 1, 32, 32) and parts.base.shape == (2, TINY.base_channels, 8, 8)


def test_an_absent_ingredient_adds_nothing(model):
    z = model.sample_latent(1, torch.Generator().manual_seed(1))
    _, layers = model.draw_parts(z, codes(PEPPERONI))
    present = {TINY.layers.index(i) for i in ("pepperoni", "olives")}
    for i in range(len(TINY.layers)):
        assert (layers[0, i].abs().sum() > 0) == (i in present), TINY.layers[i]


def bases(config: LayeredConfig, *recipes: str) -> torch.Tensor:
    """The bases (R, 3, S, S) a model of ``config``, its recipe weights random, draws for ``recipes`` under one latent."""
    torch.manual_seed(0)
    m = LayeredPizza(config).eval()
    with torch.no_grad():
        m.base.apply(lambda layer: layer.weight.normal_() if isinstance(layer, torch.nn.Linear) else None)
        z = m.sample_latent(1, torch.Generator().manual_seed(2)).repeat(len(recipes), 1)
        return m.draw_parts(z, codes(*recipes))[0]


@pytest.mark.parametrize("base_drizzles", [False, True])
def test_the_base_reads_the_drizzles_only_where_its_config_says(base_drizzles):
    plain, drizzled = bases(replace(TINY, base_drizzles=base_drizzles), "tomato_sauce, mozzarella, ham",
                            "tomato_sauce, mozzarella, ham, bbq_sauce")
    assert torch.equal(plain, drizzled) != base_drizzles


def test_the_base_reads_a_sauce_drawn_as_strokes_too():
    plain, milky = bases(replace(TINY, strokes=("bbq_sauce", "condensed_milk")), "mozzarella, ham", "condensed_milk, mozzarella, ham")
    assert not torch.equal(plain, milky)


def test_layers_are_laid_in_order():
    base = torch.zeros(1, 3, 2, 2)
    red = torch.tensor([1.0, 0, 0, 1]).view(1, 4, 1, 1).expand(1, 4, 2, 2)
    green = torch.tensor([0, 1.0, 0, 1]).view(1, 4, 1, 1).expand(1, 4, 2, 2)
    assert lay(base, torch.stack([red, green], 1))[0, :, 0, 0].tolist() == [0, 1, 0]
    assert lay(base, torch.stack([green, red], 1))[0, :, 0, 0].tolist() == [1, 0, 0]


def test_a_new_model_lays_its_layers_in_the_kitchens_order(setup):
    _, built = setup
    config = built.export().config
    assert (config.pieces, config.strokes) == Kitchen().drawing_order()


def test_splat_puts_a_sprite_where_asked():
    sprite = torch.ones(1, 4, 4, 4)  # an opaque white square
    layer = splat(sprite, torch.tensor([[8.0, 4.0]]), torch.tensor([2.0]), torch.tensor([0.0]),
                  torch.tensor([0]), 1, 16)
    alpha = layer[0, 3]
    assert alpha[4, 8] > 0.9 and alpha[4, 0] == 0 and alpha[12, 8] == 0


def test_splat_lays_a_small_piece_beside_a_large_one_as_it_lays_it_alone():
    sprites = torch.rand(2, 4, 8, 8, generator=torch.Generator().manual_seed(0))
    centre, size, angle = torch.tensor([[10.0, 10.0], [30.0, 20.0]]), torch.tensor([1.5, 9.0]), torch.tensor([0.7, 0.2])
    both = splat(sprites, centre, size, angle, torch.tensor([0, 1]), 2, 40)
    alone = splat(sprites[:1], centre[:1], size[:1], angle[:1], torch.tensor([0]), 1, 40)
    assert torch.allclose(both[:1], alone, atol=1e-6) and both[1, 3].sum() > both[0, 3].sum() * 10


def test_same_seed_same_pizzas_and_noise_moves_the_pieces(model):
    a, b = (np.asarray(generate(model, [PEPPERONI], n=2, seed=3)[1]) for _ in range(2))
    assert np.array_equal(a, b)
    one, two = (np.asarray(generate(model, [PEPPERONI], seed=s)[0], np.int16) for s in (1, 2))
    assert np.abs(one - two).mean() > 1
    typical = [np.asarray(generate(model, [PEPPERONI], seed=s, noise=0.0)[0]) for s in (1, 2)]
    assert np.array_equal(*typical)


def test_restyle_to_the_same_recipe_keeps_the_picture(model):
    photo = Kitchen().render(PEPPERONI, seed=0, size=32)
    _, result = restyle(model, photo, PEPPERONI, PEPPERONI)
    assert np.abs(np.asarray(result, np.int16) - np.asarray(model_view(model, photo))).max() <= 1


def test_restyle_adds_a_layer(model):
    """Adding basil (the top piece layer here) lays basil's pieces on the picture: a share of the pixels
    change, towards basil's colour; with no edit, or a transparent layer, nothing would."""
    blue = copy.deepcopy(model)
    with torch.no_grad():
        basil = TINY.pieces.index("basil")
        blue.sprites[basil, :3] = torch.tensor([-6.0, -6.0, 6.0])[:, None, None]  # basil's pieces: blue
        blue.layout.count[-1].bias[0] = 2.5  # about 12 pieces
        blue.layout.size[basil] = torch.tensor([-1.5, -5.0])  # each about a fifth of the inner radius
        blue.decomposer.to_geometry.weight.zero_()  # it reads the kitchen's disc: centred, radius 0.46, inner 0.41
        blue.decomposer.to_geometry.bias.copy_(torch.tensor([0.5, 0.5, 0.46, 0.41]))
    photo = Kitchen().render(PEPPERONI, seed=0, size=32)
    _, same = restyle(blue, photo, PEPPERONI, PEPPERONI, noise=1.0)
    _, added = restyle(blue, photo, PEPPERONI, PEPPERONI + ", basil", noise=1.0)
    change = np.asarray(added, np.int16) - np.asarray(same, np.int16)  # (S, S, 3)
    changed = np.abs(change).sum(-1) > 60
    assert changed.mean() > 0.05, changed.mean()
    assert (change[changed][:, 2] - change[changed][:, :2].max(1)).mean() > 100  # bluer, not redder or greener


def test_templates_are_drawn_at_their_learned_frequencies():
    m = LayeredPizza(TINY)
    frequencies = torch.tensor([0.1, 0.2, 0.3, 0.4])
    with torch.no_grad():
        m.layout.template_logits[0, 1] = frequencies.log()
    n = 20_000
    zeros = torch.zeros(n, dtype=torch.long)
    noise = torch.randn(n, TINY.templates, generator=torch.Generator().manual_seed(0))  # the prior's noise
    picks = m.layout.template(zeros, zeros + 1, noise)
    assert torch.allclose(torch.bincount(picks, minlength=4) / n, frequencies, atol=0.015)
    assert m.layout.template(zeros[:1], zeros[:1] + 1, torch.zeros(1, TINY.templates)).item() == 3  # noise 0: the likeliest


def test_save_and_load_round_trip(model, tmp_path):
    save_checkpoint(model, tmp_path)
    loaded = load(tmp_path)
    assert isinstance(loaded, LayeredPizza) and loaded.config == TINY
    z = model.sample_latent(2, torch.Generator().manual_seed(0))
    c = codes(PEPPERONI, "ranch_sauce, mozzarella, basil")
    assert torch.allclose(loaded.draw(z, c), model.draw(z, c), atol=1e-5)


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    hp = hyper("layered", "modern", 32, channels=8)
    return hp, build_layered(hp, DEFAULT_VOCABULARY)


def test_kitchen_data_gives_every_part(setup):
    _, built = setup
    data = LayeredKitchen(built.export().config, 6, seed=0, progress=False)
    x, c, parts = data.collate([data[i] for i in range(6)])
    assert x.shape == (6, 3, 32, 32) and c.shape == (6, len(DEFAULT_VOCABULARY))
    assert parts["base"].shape == (6, 3, 32, 32) and parts["visible"].shape == (6, 32, 32)
    assert len(parts["piece_layers"]) == len(parts["piece_slot"]) and parts["pieces"].shape[1] == 6  # x, y, size, angle, shade, variant
    assert parts["piece_layer"].max() < len(parts["piece_layers"])


def test_training_steps_lower_the_loss(setup):
    hp, built = setup
    data = LayeredKitchen(built.export().config, 8, seed=1, progress=False)
    x, c, parts = data.collate([data[i] for i in range(8)])
    stats = [train_step(built, built.modules(), Batch(x, c, parts), hp, torch.device("cpu")) for _ in range(12)]
    assert all(np.isfinite(v) for s in stats for v in s.values())
    assert stats[-1]["sprites"] < stats[0]["sprites"] and stats[-1]["base"] < stats[0]["base"]


def test_draw_lays_exactly_the_layers_draw_parts_gives(model):
    z = model.sample_latent(3, torch.Generator().manual_seed(4))
    c = codes(PEPPERONI, "tomato_sauce, basil, bbq_sauce, bbq_sauce", "ranch_sauce")
    base, layers = model.draw_parts(z, c)
    assert torch.allclose(model.draw(z, c), lay(base, layers) * 2 - 1, atol=1e-5)


VARIED = LayeredConfig(image_size=32, pieces=PIECES, strokes=("bbq_sauce",), channels=8, sprite_size=8, max_pieces=32, variants=3)


def test_sprite_variants_make_pieces_differ():
    torch.manual_seed(0)
    m = LayeredPizza(VARIED).eval()
    with torch.no_grad():  # three visibly different pepperoni sprites: red, green, blue
        m.sprites[:, 3] = 3.0
        m.sprites[:, :3] = -3.0
        t = PIECES.index("pepperoni") * 3
        for v in range(3):
            m.sprites[t + v, v] = 3.0
        m.layout.count[-1].bias[0] = 2.5  # about 12 pieces
    z = torch.zeros(1, VARIED.latent_dim)  # noise 0: the pieces still cycle through the sprites
    _, layers = m.draw_parts(z, codes("tomato_sauce, pepperoni"))
    rgb = layers[0, VARIED.layers.index("pepperoni"), :3].sum((1, 2))
    assert (rgb > 1).all(), rgb  # red, green and blue pieces all laid


def test_variant_frequencies_are_learned_and_sampled():
    m = LayeredPizza(VARIED)
    with torch.no_grad():
        m.layout.variant_logits.zero_()
        m.layout.variant_logits[0, 2] = 20.0  # topping 0 always uses its third sprite
    noise = torch.randn(500, generator=torch.Generator().manual_seed(0))
    k = torch.arange(500)
    assert (m.layout.variant(torch.zeros(500, dtype=torch.long), noise, k) == 2).all()
    picks = m.layout.variant(torch.ones(500, dtype=torch.long), noise, k)
    assert set(picks.tolist()) == {0, 1, 2}


def test_variants_survive_a_save_load_round_trip(tmp_path):
    m = LayeredPizza(VARIED)
    save_checkpoint(m, tmp_path)
    again = load(tmp_path)
    assert again.config.variants == 3 and again.sprites.shape == m.sprites.shape
    assert torch.equal(again.layout.variant_logits, m.layout.variant_logits)


GRAINED = replace(TINY, piece_grain=True)


def test_piece_grain_textures_the_pieces_and_nothing_beside_them():
    torch.manual_seed(0)
    m = LayeredPizza(GRAINED).eval()
    with torch.no_grad():
        m.sprites[:, 3] = 3.0
        m.piece_grain.fill_(-1.0)  # an amplitude of 0.31
    z = m.sample_latent(1, torch.Generator().manual_seed(2))
    other = z.clone()
    other[:, -32 * 32:] = torch.randn(1, 32 * 32, generator=torch.Generator().manual_seed(3))  # another grain only
    layers = [m.draw_parts(x, codes(PEPPERONI))[1][0, GRAINED.layers.index("pepperoni")] for x in (z, other)]
    alpha = layers[0][3:]
    assert torch.equal(alpha, layers[1][3:]) and (layers[0][:3] <= alpha + 1e-6).all()
    changed = (layers[0][:3] - layers[1][:3]).abs().amax(0)  # (S, S)
    assert changed[alpha[0] > 0.5].mean() > 0.05 and changed[alpha[0] == 0].max() == 0


def test_piece_grain_learns_the_texture_inside_the_kitchens_pieces():
    torch.manual_seed(0)
    # 64 px: at 32 px the photos' pieces are too small to have an inside (1 px in from every edge) to match
    hp = hyper("layered", "modern", 64, channels=8, piece_grain=True, kitchen="painted")
    built = build_layered(hp, DEFAULT_VOCABULARY)
    model = built.nets["model"]
    with torch.no_grad():
        model.sprites[:, 3] = 6.0  # opaque pieces, as a trained model's: their insides are where the texture is matched
    data = LayeredKitchen(model.config, 8, seed=1, progress=False, kitchen=PaintedKitchen())
    batch = Batch(*data.collate([data[i] for i in range(8)]))
    before = model.piece_grain.detach().clone()
    stats = [train_step(built, built.modules(), batch, hp, torch.device("cpu")) for _ in range(6)]
    assert "piece_grain" in stats[0] and np.isfinite(stats[-1]["piece_grain"])
    assert (model.piece_grain.detach() - before).abs().max() > 0.01


def test_piece_grain_survives_a_save_load_round_trip(tmp_path):
    m = LayeredPizza(GRAINED)
    with torch.no_grad():
        m.piece_grain.normal_()
    save_checkpoint(m, tmp_path)
    again = load(tmp_path)
    assert again.config.piece_grain and torch.equal(again.piece_grain, m.piece_grain)


def test_grain_energy_of_a_flat_picture_has_a_finite_gradient():
    flat = torch.full((1, 3, 16, 16), 1.0, requires_grad=True)  # a photo's white background: no high-pass energy
    high_pass_energy(flat).sum().backward()
    assert torch.isfinite(flat.grad).all()


def test_a_round_crust_is_white_beyond_the_rim_whatever_the_latent():
    torch.manual_seed(0)
    m = LayeredPizza(LayeredConfig(image_size=32, pieces=PIECES, channels=8, sprite_size=8, max_pieces=32, crust="round"))
    geometry = torch.tensor([[0.5, 0.5, 0.4, 0.35]] * 2)  # (B, 4): cx, cy, radius, inner
    latent = torch.randn(2, m.config.base_channels, 8, 8) * 3
    base = m.base(latent, codes(PEPPERONI, "tomato_sauce"), geometry, torch.randn(2, 1, 32, 32))  # (2, 3, 32, 32)
    t = (torch.arange(32) + 0.5) / 32
    dist = ((t[None, :] - 0.5) ** 2 + (t[:, None] - 0.5) ** 2).sqrt()  # (32, 32) as fractions of the side
    assert (base[:, :, dist > 0.4 + 1 / 32] == 1).all()
    assert (base[:, :, dist < 0.4 - 1 / 32] < 1).any()
    with pytest.raises(ValueError, match="crust"):
        LayeredConfig(crust="square")


# --------------------------------------------------------------------------- a base drawn smaller than the pizza

SMALL_BASE = replace(TINY, image_size=64, sprite_size=16, base_size=32)


def test_a_smaller_base_is_drawn_at_its_side_and_laid_under_pieces_at_the_full_size():
    torch.manual_seed(0)
    m = LayeredPizza(SMALL_BASE)
    z, c = m.sample_latent(2, torch.Generator().manual_seed(0)), codes(PEPPERONI, "tomato_sauce")
    assert split_latent(z, m.config).base.shape[-2:] == (8, 8)  # the latent of a 32 px base
    base, layers = m.draw_parts(z, c)
    assert base.shape[-2:] == (64, 64) and layers.shape[-2:] == (64, 64) and m.draw(z, c).shape[-2:] == (64, 64)


def test_a_smaller_base_is_the_same_network_as_a_model_of_the_bases_size():
    """Its weights fit a model drawn at the base's side, so a 64 px model's base draws under 96 px pieces."""
    torch.manual_seed(0)
    small, large = LayeredPizza(replace(TINY, base_blocks=2, base_reach="pooled")), LayeredPizza(
        replace(SMALL_BASE, base_blocks=2, base_reach="pooled"))
    state = {k: v for k, v in small.state_dict().items() if k not in ("sprites", "templates")}
    assert not large.load_state_dict(state, strict=False).unexpected_keys
    geometry, latent = torch.tensor([[0.5, 0.5, 0.4, 0.35]]), torch.randn(1, TINY.base_channels, 8, 8)
    drawn_small = small.base(latent, codes("tomato_sauce"), geometry)  # (1, 3, 32, 32)
    drawn_large = large.base(latent, codes("tomato_sauce"), geometry)  # (1, 3, 64, 64)
    assert drawn_large.shape[-1] == 64
    assert torch.allclose(torch.nn.functional.avg_pool2d(drawn_large, 2), drawn_small, atol=0.05)


def test_the_decomposer_reads_at_the_bases_side_and_answers_at_the_pictures():
    m = LayeredPizza(SMALL_BASE)
    logits, mu, _, geometry = m.decomposer(torch.zeros(2, 3, 64, 64))
    assert logits.shape == (2, 1 + len(SMALL_BASE.layers), 64, 64) and mu.shape[-2:] == (8, 8) and geometry.shape == (2, 4)


def test_a_base_larger_than_the_pizza_is_a_clear_error():
    with pytest.raises(ValueError, match="base_size"):
        replace(TINY, base_size=64)


def test_a_smaller_base_survives_a_save_load_round_trip(tmp_path):
    m = LayeredPizza(SMALL_BASE)
    save_checkpoint(m, tmp_path)
    again = load(tmp_path)
    assert again.config.base_size == 32 and again.config.base_side == 32
    z, c = m.sample_latent(1, torch.Generator().manual_seed(3)), codes(PEPPERONI)
    assert torch.allclose(again.draw(z, c), m.draw(z, c), atol=1e-3)


# --------------------------------------------------------------------------- the base's reach blocks

REACHING = LayeredConfig(**{**TINY.__dict__, "base_blocks": 2})


@pytest.mark.parametrize("reach", ["dilated", "pooled"])
def test_new_reach_blocks_leave_the_base_as_it_was(reach):
    torch.manual_seed(0)
    plain, reaching = LayeredPizza(TINY), LayeredPizza(replace(REACHING, base_reach=reach))
    missing, unexpected = reaching.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and missing and all(".reach." in name for name in missing)
    z, c = plain.sample_latent(2, torch.Generator().manual_seed(0)), codes(PEPPERONI, "tomato_sauce")
    assert torch.allclose(plain.draw(z, c), reaching.draw(z, c), atol=1e-6)


def answer_to_one_pixel_of_noise(reach: str) -> torch.Tensor:
    """(32, 32) bool: which pixels of the smooth base change when the noise is nudged at (16, 16)."""
    torch.manual_seed(0)
    base = LayeredPizza(replace(REACHING, base_reach=reach)).base
    with torch.no_grad():
        for block in base.reach:
            block.noise_gain.fill_(1.0)
            torch.nn.init.normal_(block.out.weight, std=0.5)
    latent, geometry = torch.zeros(1, TINY.base_channels, 8, 8), torch.tensor([[0.5, 0.5, 0.45, 0.4]])
    noise = torch.zeros(1, 1, 32, 32)
    nudged = noise.clone()
    nudged[0, 0, 16, 16] = 5.0
    smooth = lambda n: base.parts(latent, codes("tomato_sauce"), geometry, n)[0]  # noqa: E731
    return (smooth(nudged) - smooth(noise)).abs().sum(1)[0] > 1e-6


def test_reach_blocks_read_the_grain_noise_beyond_one_pixel():
    changed = answer_to_one_pixel_of_noise("dilated")
    assert changed[16, 16 + 4] and changed[16 - 4, 16]  # dilation 2 then 4 reaches 4 pixels and more away


def test_dilated_reach_answers_on_a_grid_and_pooled_reach_on_a_whole_patch():
    window = (slice(12, 21), slice(12, 21))  # 9 x 9 pixels about the nudged one
    assert not answer_to_one_pixel_of_noise("dilated")[window].all()  # the dilations skip pixels: the grid
    assert answer_to_one_pixel_of_noise("pooled")[window].all()


def test_pooled_reach_cells_scale_with_reach_cell():
    base = LayeredPizza(replace(REACHING, base_reach="pooled", reach_cell=4)).base
    assert [block.step for block in base.reach] == [4, 8]
    with pytest.raises(ValueError, match="tile"):
        LayeredConfig(**{**REACHING.__dict__, "base_reach": "pooled", "reach_cell": 3})  # cells of 6 px on 32 px


def test_blurred_noise_keeps_unit_spread_and_neighbours_alike():
    white = torch.randn(8, 1, 64, 64, generator=torch.Generator().manual_seed(0))
    for noise, alike in ((white, False), (unit_blurred(white, 2.0), True)):
        inner = noise[..., 8:-8, 8:-8]  # away from the blur's reflected border
        neighbours = torch.corrcoef(torch.stack([inner[..., :-1].flatten(), inner[..., 1:].flatten()]))[0, 1]
        assert abs(inner.std() - 1) < 0.1 and (neighbours > 0.8 if alike else abs(neighbours) < 0.05)


def test_a_fine_noise_blur_changes_what_the_finest_reach_block_reads_alone():
    torch.manual_seed(0)
    sharp = LayeredPizza(replace(REACHING, base_reach="pooled"))
    with torch.no_grad():
        for block in sharp.base.reach:
            block.noise_gain.fill_(1.0)
            torch.nn.init.normal_(block.out.weight, std=0.5)
    blurred = LayeredPizza(replace(sharp.config, fine_noise_blur=2.0))
    blurred.load_state_dict(sharp.state_dict(), strict=True)
    latent, geometry = torch.zeros(1, TINY.base_channels, 8, 8), torch.tensor([[0.5, 0.5, 0.45, 0.4]])
    noise = torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    smooth = lambda m: m.base.parts(latent, codes("tomato_sauce"), geometry, noise)[0]  # noqa: E731
    assert not torch.allclose(smooth(sharp), smooth(blurred))
    with torch.no_grad():
        for m in (sharp, blurred):
            m.base.reach[0].noise_gain.zero_()
    assert torch.allclose(smooth(sharp), smooth(blurred))


def test_a_fine_noise_blur_is_a_sigma_and_survives_a_save_load_round_trip(tmp_path):
    with pytest.raises(ValueError, match="fine_noise_blur"):
        LayeredConfig(fine_noise_blur=-1.0)
    save_checkpoint(LayeredPizza(replace(REACHING, base_reach="pooled", fine_noise_blur=1.5)), tmp_path)
    assert load(tmp_path).config.fine_noise_blur == 1.5


def test_reach_blocks_survive_a_save_load_round_trip(tmp_path):
    m = LayeredPizza(REACHING)
    with torch.no_grad():
        m.base.reach[0].noise_gain.fill_(0.3)
    save_checkpoint(m, tmp_path)
    again = load(tmp_path)
    assert again.config.base_blocks == 2 and torch.equal(again.base.reach[0].noise_gain, m.base.reach[0].noise_gain)


def test_a_run_draws_its_finest_reach_block_from_noise_blurred_as_its_option_says():
    hp = hyper("layered", "modern", 32, channels=8, base_blocks=2, base_reach="pooled", fine_noise_blur=2.0)
    assert build_layered(hp, DEFAULT_VOCABULARY).export().config.fine_noise_blur == 2.0


def test_base_blocks_cannot_be_negative():
    with pytest.raises(ValueError, match="base_blocks"):
        LayeredConfig(base_blocks=-1)


def test_base_reach_is_dilated_or_pooled():
    with pytest.raises(ValueError, match="base_reach"):
        LayeredConfig(base_reach="strided")


# --------------------------------------------------------------------------- the photo critic


@pytest.fixture
def photos(tmp_path) -> str:
    """A manifest of two 'photos': a red pepperoni pizza and a white one, each with a dark corner."""
    for name, colour in (("a.png", (200, 60, 40)), ("b.png", (240, 240, 230))):
        image = np.full((40, 40, 3), colour, np.uint8)
        image[:8, :8] = 0  # a corner that shows how the view was turned
        Image.fromarray(image).save(tmp_path / name)
    (tmp_path / "recipes.csv").write_text("image,ingredients\na.png,tomato_sauce;mozzarella;pepperoni\nb.png,mozzarella\n")
    return str(tmp_path)


def critic_run(photos: str, **options):
    torch.manual_seed(0)
    hp = hyper("layered", "modern", 32, channels=8, photos=photos, **{"photo_weight": 0.1, **options})
    built = build_layered(hp, DEFAULT_VOCABULARY)
    return hp, built, layered_data(hp, DEFAULT_VOCABULARY, 4, 0, False, built)


def test_a_photo_weight_needs_the_photos():
    with pytest.raises(ValueError, match="--photos"):
        hyper("layered", "modern", 32, photo_weight=0.1)


def test_without_a_photo_weight_there_is_no_critic(setup):
    _, built = setup
    assert set(built.nets) == {"model"}


def test_the_critic_sees_each_photo_turned_or_mirrored_with_its_recipe(photos):
    _, _, data = critic_run(photos)
    _, _, parts = data.collate([data[i] for i in range(4)])
    pictures, counts = data.photos  # (2, 3, 32, 32) in [-1, 1], (2, V)
    assert parts["photos"].shape == (4, 3, 32, 32) and parts["photo_counts"].shape == (4, len(DEFAULT_VOCABULARY))
    for view, code in zip(parts["photos"], parts["photo_counts"]):
        i = next(k for k in range(len(counts)) if torch.equal(counts[k], code))
        turns = [pictures[i].rot90(k, (1, 2)) for k in range(4)]
        assert any(torch.equal(view, t) or torch.equal(view, t.flip(2)) for t in turns)  # exactly, no resampling


def test_a_step_with_the_critic_trains_the_critic_and_logs_how_well_the_model_fools_it(photos):
    hp, built, data = critic_run(photos)
    before = [p.detach().clone() for p in built.nets["critic"].parameters()]
    x, c, parts = data.collate([data[i] for i in range(4)])
    stats = train_step(built, built.modules(), Batch(x, c, parts), hp, torch.device("cpu"))
    assert np.isfinite(stats["critic"]) and np.isfinite(stats["photo"]) and np.isfinite(stats["sprites"])
    assert any(not torch.equal(a, b) for a, b in zip(before, built.nets["critic"].parameters()))


def test_a_critic_r1_penalises_the_critics_gradient_on_the_photos(photos):
    hp, built, data = critic_run(photos, critic_r1=1.0)
    x, c, parts = data.collate([data[i] for i in range(4)])
    stats = train_step(built, built.modules(), Batch(x, c, parts), hp, torch.device("cpu"))
    assert stats["r1"] > 0 and np.isfinite(stats["critic"])
    plain_hp, plain, _ = critic_run(photos)  # without it, no penalty is computed or logged
    assert "r1" not in train_step(plain, plain.modules(), Batch(x, c, parts), plain_hp, torch.device("cpu"))


def test_photo_patches_teach_the_model_the_photos_texture_without_a_critic(photos):
    hp, built, data = critic_run(photos, photo_weight=0.0, photo_patches=10.0)
    assert set(built.nets) == {"model"} and data.photos is not None
    base = copy.deepcopy(built.nets["model"].base.state_dict())
    x, c, parts = data.collate([data[i] for i in range(4)])
    stats = train_step(built, built.modules(), Batch(x, c, parts), hp, torch.device("cpu"))
    assert stats["patches"] > 0 and "critic" not in stats
    assert any(not torch.equal(value, built.nets["model"].base.state_dict()[name]) for name, value in base.items())


def test_photo_patches_need_the_photos():
    with pytest.raises(ValueError, match="--photos"):
        hyper("layered", "modern", 32, photo_patches=1.0)


def test_train_only_critic_warms_the_critic_up_on_a_model_kept_as_it_is(photos):
    hp, built, data = critic_run(photos)
    trainable(built, ["critic"], "--train-only", only=True)  # the whole network, by its name
    model, critic = (copy.deepcopy(built.nets[name].state_dict()) for name in ("model", "critic"))
    x, c, parts = data.collate([data[i] for i in range(4)])
    train_step(built, built.modules(), Batch(x, c, parts), hp, torch.device("cpu"))
    assert all(torch.equal(value, built.nets["model"].state_dict()[name]) for name, value in model.items())
    assert any(not torch.equal(value, built.nets["critic"].state_dict()[name]) for name, value in critic.items())


def test_a_critic_size_shows_the_critic_photos_and_pizzas_at_that_side(photos):
    torch.manual_seed(0)
    hp = hyper("layered", "modern", 64, channels=8, photos=photos, photo_weight=0.1, critic_size=32)
    built = build_layered(hp, DEFAULT_VOCABULARY)
    data = layered_data(hp, DEFAULT_VOCABULARY, 4, 0, False, built)
    x, c, parts = data.collate([data[i] for i in range(4)])
    assert x.shape[-1] == 64 and parts["photos"].shape[-1] == 32
    seen = []
    built.nets["critic"].register_forward_hook(lambda module, args, out: seen.append(args[0].shape[-1]))
    stats = train_step(built, built.modules(), Batch(x, c, parts), hp, torch.device("cpu"))
    assert np.isfinite(stats["photo"]) and seen and set(seen) == {32}


def test_the_critics_views_are_augmented_by_the_critic_augment_policy(photos, monkeypatch):
    policies = []
    monkeypatch.setattr("train.layered.diff_augment", lambda x, policy: policies.append(policy) or x)
    torch.manual_seed(0)
    hp = hyper("layered", "modern", 32, channels=8, photos=photos, photo_weight=0.1, critic_augment="color,cutout")
    built = build_layered(hp, DEFAULT_VOCABULARY)
    data = layered_data(hp, DEFAULT_VOCABULARY, 4, 0, False, built)
    x, c, parts = data.collate([data[i] for i in range(4)])
    train_step(built, built.modules(), Batch(x, c, parts), hp, torch.device("cpu"))
    assert policies == ["color,cutout"] * 3  # the photos and the drawn pizzas for the critic, the drawn ones for the model


def test_a_critic_of_bases_tells_the_photo_banks_bases_from_the_base_alone():
    torch.manual_seed(0)
    hp = hyper("layered", "modern", 32, channels=8, photo_weight=0.1, critic_sees="bases")  # no --photos needed
    built = build_layered(hp, DEFAULT_VOCABULARY)
    data = layered_data(hp, DEFAULT_VOCABULARY, 4, 0, False, built)
    bases, counts = data.photos  # (N, 3, 32, 32) in [-1, 1], (N, V): the bank's bases with their sauces and cheese
    assert bases.shape[1:] == (3, 32, 32) and len(bases) == len(counts) == len(shipped_bank().bases)
    only_base = [i for i, ingredient in enumerate(DEFAULT_VOCABULARY) if ingredient.kind not in (SAUCE, CHEESE)]
    assert counts[:, only_base].sum() == 0 and counts[:, DEFAULT_VOCABULARY.index("mozzarella")].sum() > 0
    seen = []
    built.nets["critic"].register_forward_hook(lambda module, args, out: seen.append(args[0]))
    x, c, parts = data.collate([data[i] for i in range(4)])
    stats = train_step(built, built.modules(), Batch(x, c, parts), hp, torch.device("cpu"))
    assert np.isfinite(stats["photo"]) and len(seen) == 3


def test_critic_pool_blur_builds_a_critic_that_halves_with_a_blur(photos):
    hp = hyper("layered", "modern", 32, channels=8, photos=photos, photo_weight=0.1, critic_pool="blur")
    assert all(block.blur for block in build_layered(hp, DEFAULT_VOCABULARY).nets["critic"].blocks)
    hp = hyper("layered", "modern", 32, channels=8, photos=photos, photo_weight=0.1)
    assert not any(block.blur for block in build_layered(hp, DEFAULT_VOCABULARY).nets["critic"].blocks)


def test_an_unknown_critic_augment_is_a_clear_error():
    with pytest.raises(ValueError, match="--critic-augment: unknown augmentation 'sepia'"):
        hyper("layered", "modern", 32, critic_augment="color,sepia")


def test_a_missing_photo_manifest_is_a_clear_error(tmp_path):
    hp = hyper("layered", "modern", 32, channels=8, photos=str(tmp_path / "nowhere"), photo_weight=0.1)
    with pytest.raises(ValueError, match="nowhere"):
        layered_data(hp, DEFAULT_VOCABULARY, 4, 0, False, build_layered(hp, DEFAULT_VOCABULARY))


def test_the_critic_teaches_the_base_and_leaves_pieces_and_drizzles_to_the_kitchen(photos):
    silent = dict(sprite_weight=0, stroke_weight=0, template_weight=0, variant_weight=0, base_weight=0, grain_weight=0,
                  kl_weight=0, visible_weight=0, geometry_weight=0, layout_weight=0)  # only the critic's term is left
    torch.manual_seed(0)
    hp = hyper("layered", "modern", 32, channels=8, photos=photos, photo_weight=1.0, **silent)
    built = build_layered(hp, DEFAULT_VOCABULARY)
    data = layered_data(hp, DEFAULT_VOCABULARY, 4, 0, False, built)
    model = built.nets["model"]
    sprites, templates = model.sprites.detach().clone(), model.templates.detach().clone()
    base = [p.detach().clone() for p in model.base.parameters()]
    x, c, parts = data.collate([data[i] for i in range(4)])
    train_step(built, built.modules(), Batch(x, c, parts), hp, torch.device("cpu"))
    assert torch.equal(model.sprites, sprites) and torch.equal(model.templates, templates)
    assert any(not torch.equal(a, b) for a, b in zip(base, model.base.parameters()))


def test_a_critic_that_reads_sauces_judges_one_picture_by_the_recipe_it_was_drawn_for(photos):
    torch.manual_seed(0)
    hp = hyper("layered", "modern", 32, channels=8, photos=photos, photo_weight=0.1, critic_reads="sauces")
    critic = build_layered(hp, DEFAULT_VOCABULARY).nets["critic"].eval()  # eval: spectral norm holds its estimate
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    red, white = codes("tomato_sauce, mozzarella"), codes("cheese_sauce, mozzarella")
    with torch.no_grad():
        assert not torch.allclose(critic(x, red), critic(x, white))
        # only sauces and cheese: a topping, which would name one photo, changes nothing
        assert torch.equal(critic(x, red), critic(x, codes("tomato_sauce, mozzarella, pepperoni")))


def test_a_critic_that_reads_nothing_ignores_the_recipe(photos):
    _, built, _ = critic_run(photos)
    critic, x = built.nets["critic"].eval(), torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(critic(x, codes("tomato_sauce")), critic(x, codes("cheese_sauce")))


def test_the_anchor_holds_the_colours_of_bases_drawn_from_the_prior_to_the_kitchens():
    silent = dict(sprite_weight=0, stroke_weight=0, template_weight=0, variant_weight=0, base_weight=0, grain_weight=0,
                  kl_weight=0, visible_weight=0, geometry_weight=0, layout_weight=0)
    torch.manual_seed(0)
    hp = hyper("layered", "modern", 32, channels=8, anchor_weight=1.0, **silent)  # only the anchor is left
    built = build_layered(hp, DEFAULT_VOCABULARY)
    data = layered_data(hp, DEFAULT_VOCABULARY, 4, 0, False, built)
    x, c, parts = data.collate([data[i] for i in range(4)])
    first = train_step(built, built.modules(), Batch(x, c, parts), hp, torch.device("cpu"))["anchor"]
    for _ in range(20):
        last = train_step(built, built.modules(), Batch(x, c, parts), hp, torch.device("cpu"))["anchor"]
    assert last < 0.5 * first  # the base decoder learns the kitchen bases' colours from prior draws alone


def test_an_anchor_on_pizzas_without_tomato_sauce_holds_those_alone():
    torch.manual_seed(0)
    hp = hyper("layered", "modern", 32, channels=8, anchor_weight=1.0, anchor_on="no-tomato-sauce")
    built = build_layered(hp, DEFAULT_VOCABULARY)
    data = layered_data(hp, DEFAULT_VOCABULARY, 4, 0, False, built)
    x, c, parts = data.collate([data[i] for i in range(4)])
    tomato = DEFAULT_VOCABULARY.index("tomato_sauce")

    def anchor(tomato_sauce: float) -> float:
        step = train_step(built, built.modules(), Batch(x, c.index_fill(1, torch.tensor([tomato]), tomato_sauce), parts), hp,
                          torch.device("cpu"))
        return float(step["anchor"])

    assert anchor(1.0) == 0.0  # every pizza has tomato sauce: nothing held
    assert anchor(0.0) > 0.0


def test_an_anchor_over_the_whole_picture_holds_less_than_one_cell_by_cell():
    torch.manual_seed(0)
    hp = hyper("layered", "modern", 32, channels=8, anchor_weight=1.0)
    built = build_layered(hp, DEFAULT_VOCABULARY)
    data = layered_data(hp, DEFAULT_VOCABULARY, 4, 0, False, built)
    _, c, parts = data.collate([data[i] for i in range(4)])

    def anchor(cell: int) -> float:
        torch.manual_seed(1)  # the same prior draws for both
        with torch.no_grad():
            return float(anchor_loss(built.nets["model"], c, parts, cell=cell))

    whole, cells = anchor(32), anchor(8)
    assert 0.0 < whole < cells  # the mean colour alone: the texture inside the picture is free

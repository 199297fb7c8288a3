"""The layered model's crust table: the photos' own crusts laid over the drawn base's rim without resampling,
picked, turned and moved by the latent; built from the photo bank by scripts/crusts.py; kept to some photos for
measures on the others."""

from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from pizza_models.app.cook import making
from pizza_models.data import to_tensor
from pizza_models.families.layered import LayeredConfig, LayeredPizza, split_latent
from pizza_models.hub import save_checkpoint
from pizza_models.kitchen.bank import BANK_SIDE, shipped_bank
from pizza_models.pipeline import load
from pizza_models.recipe import DEFAULT_VOCABULARY, encode, parse_recipe
from scripts.crusts import with_crusts
from scripts.photo_measures import fold_models_draw, model_fold_draw
from train.layered import build_layered, layered_data, training_kitchen
from train.registry import hyper

PLAIN = LayeredConfig(image_size=32, pieces=("pepperoni",), channels=8, sprite_size=8, max_pieces=16)
CRUSTED = replace(PLAIN, crusts=("first", "second", "third"))
SIDE = 32


def crusted_model(seed: int = 0) -> LayeredPizza:
    """A tiny model whose crusts are random pictures, each of its own (distinct) mean."""
    torch.manual_seed(seed)
    model = LayeredPizza(CRUSTED).eval()
    with torch.no_grad():
        model.crust.pictures.copy_(torch.rand(3, 3, SIDE, SIDE) * 0.2 + torch.tensor([0.1, 0.4, 0.7])[:, None, None, None])
    return model


def lay(model, noise, centre=(0.5, 0.5), base_value=0.5):
    base = torch.full((len(noise), 3, SIDE, SIDE), base_value)
    geometry = torch.tensor([[*centre, 0.5, 0.43]]).expand(len(noise), 4)
    return model.crust(base, torch.as_tensor(noise, dtype=torch.float32), geometry)


def ring(radius=0.5, centre=(SIDE / 2, SIDE / 2)):
    yy, xx = np.mgrid[:SIDE, :SIDE] + 0.5
    return np.hypot(xx - centre[0], yy - centre[1]) / (radius * SIDE)


def test_a_model_without_crusts_holds_no_weights_for_them():
    model = LayeredPizza(PLAIN)
    assert not [k for k in model.state_dict() if k.startswith("crust.")]
    assert CRUSTED.latent_dim == PLAIN.latent_dim + 3 and split_latent(torch.zeros(2, PLAIN.latent_dim), PLAIN).crust.shape == (2, 0)


def test_the_crust_covers_the_rim_and_the_plate_and_leaves_the_base_inside():
    model, rho = crusted_model(), ring()
    out = lay(model, [[0.0, -2.0, 1.0]])[0]  # (3, S, S): the middle crust, unturned, not mirrored
    outside, inside = torch.from_numpy(rho >= CRUSTED.crust_edge + 0.03), torch.from_numpy(rho <= CRUSTED.crust_edge - 0.03)
    assert torch.equal(out[:, outside], model.crust.pictures[1][:, outside])
    assert torch.equal(out[:, inside], torch.full_like(out[:, inside], 0.5))


def test_the_latent_turns_by_quarter_turns_and_mirrors_without_resampling():
    model, outside = crusted_model(), torch.from_numpy(ring() >= CRUSTED.crust_edge + 0.03)
    picture = model.crust.pictures[1]
    for quarter, turn in enumerate((-2.0, -0.3, 0.3, 2.0)):  # normal noise -> quarters 0, 1, 2, 3
        for mirror in (1.0, -1.0):
            expected = picture.rot90(quarter, (1, 2))
            expected = expected.flip(2) if mirror < 0 else expected
            assert torch.equal(lay(model, [[0.0, turn, mirror]])[0][:, outside], expected[:, outside])


def test_the_crust_moves_with_the_pizza_by_whole_pixels():
    model = crusted_model()
    moved = lay(model, [[0.0, -2.0, 1.0]], centre=(0.5 + 3 / SIDE, 0.5 - 2 / SIDE))[0]
    outside = torch.from_numpy(ring(centre=(SIDE / 2 + 3, SIDE / 2 - 2)) >= CRUSTED.crust_edge + 0.03)
    shifted = torch.ones(3, SIDE + 8, SIDE + 8)  # white where the crust moved in from beyond the frame
    shifted[:, 2:SIDE + 2, 7:SIDE + 7] = model.crust.pictures[1]
    assert torch.equal(moved[:, outside], shifted[:, 4:SIDE + 4, 4:SIDE + 4][:, outside])


def test_the_latent_picks_every_crust_and_keep_crusts_only_those_photos():
    model, outside = crusted_model(), torch.from_numpy(ring() >= 0.95)
    noise = torch.tensor([[v, 0.0, 1.0] for v in np.linspace(-2, 2, 9)])

    def picked() -> list[int]:  # which crust each pizza got: the crusts' means are about 0.2, 0.5 and 0.8
        means = lay(model, noise)[:, :, outside].mean((1, 2))  # (B,)
        return torch.unique((means[:, None] - torch.tensor([0.2, 0.5, 0.8])).abs().argmin(1)).tolist()

    assert picked() == [0, 1, 2]
    model.keep_crusts(["third"])
    assert picked() == [2]


def based_model(whole: tuple = ()) -> LayeredPizza:
    """The crusted model whose three crusts are a tomato-sauce, a cheese-sauce and a tomato-sauce pizza's."""
    model = LayeredPizza(replace(CRUSTED, crust_whole=whole, crust_bases=(("tomato_sauce", "mozzarella"),
                                                                          ("cheese_sauce", "mozzarella"), ("tomato_sauce", "mozzarella"))))
    model.load_state_dict(crusted_model().state_dict())
    return model.eval()


def picked(model: LayeredPizza, recipe: str) -> list[int]:
    """The crusts (by their mean colour, outside the rim) that pizzas of the recipe lay over nine draws of the latent."""
    noise, outside = torch.tensor([[v, 0.0, 1.0] for v in np.linspace(-2, 2, 9)]), torch.from_numpy(ring() >= 0.95)
    codes = torch.stack([encode(parse_recipe(recipe), "counts")] * len(noise))
    base, geometry = torch.full((len(noise), 3, SIDE, SIDE), 0.5), torch.tensor([[0.5, 0.5, 0.5, 0.43]]).expand(len(noise), 4)
    means = model.crust(base, noise, geometry, codes)[:, :, outside].mean((1, 2))
    return torch.unique((means[:, None] - torch.tensor([0.2, 0.5, 0.8])).abs().argmin(1)).tolist()


def test_a_pizza_picks_a_crust_of_its_own_kind_of_base():
    model = based_model()
    assert picked(model, "tomato sauce, mozzarella, pepperoni") == [0, 2]
    assert picked(model, "cheese sauce, mozzarella") == [1]
    assert picked(model, "mozzarella") == [0, 1, 2]  # no sauce: every crust agrees with it as well as another
    model.keep_crusts(["first"])
    assert picked(model, "cheese sauce, mozzarella") == [0]  # the best of those kept


def test_a_crust_laid_whole_is_picked_only_by_a_pizza_with_some_of_its_base():
    model = based_model(whole=("second",))  # the cheese-sauce pizza's whole base
    assert picked(model, "pepperoni") == [0, 2]  # toppings alone agree with every crust alike, but have none of its base
    assert picked(model, "mozzarella, pepperoni") == [0, 1, 2]  # its mozzarella is some of it
    assert picked(model, "cheese sauce, mozzarella") == [1]


def test_a_crust_laid_whole_covers_the_base_too_but_for_the_makings_steps():
    model, inside = based_model(whole=("second",)), torch.from_numpy(ring() <= CRUSTED.crust_edge - 0.03)
    noise = torch.tensor([[0.0, -2.0, 1.0]])  # the middle crust, unturned, over a base of 0.5 everywhere
    assert torch.equal(lay(model, noise)[0], model.crust.pictures[1])
    geometry = torch.tensor([[0.5, 0.5, 0.5, 0.43]])
    rim = model.crust(torch.full((1, 3, SIDE, SIDE), 0.5), noise, geometry, rim_only=True)[0]
    assert torch.equal(rim[:, inside], torch.full_like(rim[:, inside], 0.5))
    first = lay(model, [[-2.0, -2.0, 1.0]])[0]  # a crust not laid whole keeps the base inside
    assert torch.equal(first[:, inside], torch.full_like(first[:, inside], 0.5))


def detailed_model(sigma: float = 1.0) -> LayeredPizza:
    """A tiny model whose crusts are a plain grey with a 1 px checkerboard of +-0.1 on it: all detail, no colour."""
    model = LayeredPizza(replace(CRUSTED, crust_detail=sigma)).eval()
    checker = (torch.arange(SIDE)[:, None] + torch.arange(SIDE)[None, :]) % 2 * 0.2 - 0.1  # (S, S)
    with torch.no_grad():
        model.crust.pictures.copy_(0.6 + checker.expand(3, 3, SIDE, SIDE))
    return model


def test_crust_detail_keeps_the_decoders_colour_and_takes_the_photos_finer_detail():
    model, inside = detailed_model(), torch.from_numpy(ring() <= CRUSTED.crust_edge - 0.1)
    out = lay(model, [[0.0, -2.0, 1.0]], base_value=0.3)[0]  # a flat decoder base of 0.3 under a grey photo of 0.6
    centre = out[:, inside]
    assert abs(centre.mean().item() - 0.3) < 0.01  # the decoder's colour, not the photo's 0.6
    assert centre.std().item() > 0.05  # the photo's checkerboard: its detail, finer than the blur
    plain = lay(crusted_model(), [[0.0, -2.0, 1.0]], base_value=0.3)[0]
    assert torch.equal(plain[:, inside], torch.full_like(plain[:, inside], 0.3))  # without detail, the decoder's alone


def test_crust_detail_draws_the_decoders_own_detail_no_finer_than_its_blur():
    model, inside = detailed_model(sigma=2.0), torch.from_numpy(ring() <= CRUSTED.crust_edge - 0.15)
    with torch.no_grad():
        model.crust.pictures.fill_(0.6)  # a photo with no detail at all
    checker = (torch.arange(SIDE)[:, None] + torch.arange(SIDE)[None, :]) % 2 * 0.4 - 0.2
    base = (0.5 + checker).expand(1, 3, SIDE, SIDE)  # a decoder drawing a 1 px checkerboard
    out = model.crust(base, torch.tensor([[0.0, -2.0, 1.0]]), torch.tensor([[0.5, 0.5, 0.5, 0.43]]))[0]
    assert out[:, inside].std().item() < 0.01 and abs(out[:, inside].mean().item() - 0.5) < 0.01


def test_crust_detail_is_a_blur_and_needs_a_crust_table():
    with pytest.raises(ValueError, match="crust_detail"):
        replace(CRUSTED, crust_detail=-1.0)
    with pytest.raises(ValueError, match="crust_detail"):
        replace(PLAIN, crust_detail=1.0)


def test_the_making_of_a_pizza_laid_whole_shows_its_dough_before_the_photos_base():
    model = LayeredPizza(replace(CRUSTED, crust_whole=CRUSTED.crusts)).eval()
    with torch.no_grad():
        model.crust.pictures.fill_(0.8)  # every photo's base one grey: (204, 204, 204)
    steps = making(model, "cheese sauce, mozzarella, pepperoni")
    labels = [label for label, _ in steps]
    centre = slice(SIDE // 2 - 4, SIDE // 2 + 4)
    dough, base = (np.asarray(steps[i][1])[centre, centre] for i in (0, labels.index("Pepperoni") - 1))
    assert labels[0].startswith("Dough") and (base == 204).all() and not (dough == 204).all()


def test_crust_bases_name_one_base_per_crust_from_the_vocabulary():
    with pytest.raises(ValueError, match="each of the 3 crusts"):
        replace(CRUSTED, crust_bases=(("tomato_sauce",),))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        replace(CRUSTED, crust_bases=(("ketchup",),) * 3)
    with pytest.raises(ValueError, match="does not hold"):
        replace(CRUSTED, crust_whole=("fourth",))


def test_keep_crusts_needs_a_crust_it_holds():
    with pytest.raises(ValueError, match="none of these photos"):
        crusted_model().keep_crusts(["elsewhere"])
    with pytest.raises(ValueError, match="no crust table"):
        LayeredPizza(PLAIN).keep_crusts(["first"])


@pytest.mark.parametrize("sigma", [0.0, 1.0])
def test_crusts_survive_a_save_load_round_trip(tmp_path, sigma):
    model = crusted_model() if not sigma else detailed_model(sigma)
    save_checkpoint(model, tmp_path)
    loaded = load(tmp_path)
    assert loaded.config.crusts == CRUSTED.crusts and torch.equal(loaded.crust.pictures, model.crust.pictures)
    assert loaded.config.crust_detail == sigma
    z, c = model.sample_latent(2, torch.Generator().manual_seed(1)), torch.stack([encode(parse_recipe("pepperoni"), "counts")] * 2)
    with torch.no_grad():
        assert torch.allclose(model.draw(z, c), loaded.draw(z, c), atol=1e-5)


def test_the_crust_table_is_the_photo_bank_read_as_the_photos_are_and_centred():
    bank = shipped_bank()
    pictures, radius = bank.crust_table(64)
    assert pictures.shape == (len(bank.bases), 3, 64, 64) and torch.allclose(radius, torch.tensor(bank.geometry[:, 2] / BANK_SIDE))
    b = 5
    read = ((to_tensor(Image.fromarray(bank.bases[b]), 64) + 1) * 127.5).round() / 255
    px, py, _ = bank.geometry[b].tolist()
    dx, dy = round(32 - px * 64 / BANK_SIDE), round(32 - py * 64 / BANK_SIDE)
    window = pictures[b][:, max(dy, 0):64 + min(dy, 0), max(dx, 0):64 + min(dx, 0)]
    assert torch.equal(window, read[:, max(-dy, 0):64 - max(dy, 0), max(-dx, 0):64 - max(dx, 0)])


def test_with_crusts_keeps_every_other_weight():
    config = replace(PLAIN, image_size=64, ingredients=DEFAULT_VOCABULARY.ids)
    model = LayeredPizza(config)
    crusted = with_crusts(model, shipped_bank(), 0.86)
    assert crusted.config.crusts == shipped_bank().names
    assert crusted.config.crust_bases[shipped_bank().names.index("16_ranch-pizza")] == ("ranch_sauce", "mozzarella")
    assert not crusted.config.crust_whole
    white = with_crusts(model, shipped_bank(), 0.86, whole="white").config.crust_whole
    assert set(white) == {"04_pizza-pirog", "16_ranch-pizza", "17_pizza-syrnyi-cyplenok", "19_chizburger-pizza"}
    for name, value in model.state_dict().items():
        assert torch.equal(crusted.state_dict()[name], value)


def test_with_crusts_leaves_the_held_out_photos_crusts_out():
    bank = shipped_bank()
    crusted = with_crusts(LayeredPizza(replace(PLAIN, image_size=64, ingredients=DEFAULT_VOCABULARY.ids)), bank, 0.86, "0,15")
    seen = [i for i in range(len(bank.names)) if i not in (0, 15)]
    assert crusted.config.crusts == tuple(bank.names[i] for i in seen)
    assert torch.equal(crusted.crust.pictures, bank.crust_table(64)[0][seen])


def test_a_crusted_models_fold_draw_keeps_the_folds_training_photos_crusts():
    model = crusted_model()
    with torch.no_grad():  # every pizza centred: the crusts lie where they are in the table
        model.layout.geometry_log_std.fill_(-30.0)
    assert model_fold_draw(LayeredPizza(PLAIN), ["first"], SIDE) is None
    fold = model_fold_draw(model, ["first", "second", "third"], SIDE)
    recipes = [parse_recipe("pepperoni")] * 9
    drawn = fold(np.array([0]))(recipes, 3)  # (9, S, S, 3) uint8: the first photo's crust on every pizza
    plate = ring() >= 0.95
    assert np.abs(drawn[:, plate].mean((1, 2)) / 255 - 0.2).max() < 0.05
    assert model.crust.on.all()  # the model itself still draws every crust


def test_fold_models_draw_each_fold_with_the_model_that_never_saw_its_photos():
    names, shade = ["first", "second", "third"], {"first": 0.1, "second": 0.4, "third": 0.7}
    models = []
    for held in names:  # one model per fold, its crust table the other two photos'
        model = LayeredPizza(replace(PLAIN, crusts=tuple(n for n in names if n != held))).eval()
        with torch.no_grad():
            model.crust.pictures.copy_(torch.tensor([shade[n] for n in model.config.crusts])[:, None, None, None].expand(2, 3, SIDE, SIDE))
            model.layout.geometry_log_std.fill_(-30.0)
        models.append(model)
    folds = [[1, 2], [0, 2], [0, 1]]
    draw = fold_models_draw(models[::-1], names, SIDE, folds)  # found by their photos, in any order
    plate = ring() >= 0.95
    for held, train in enumerate(folds):
        drawn = draw(np.array(train))([parse_recipe("pepperoni")] * 9, 3)  # (9, S, S, 3) uint8
        colours = drawn[:, plate].mean((1, 2)) / 255
        assert np.abs(colours - shade[names[held]]).min() > 0.2  # never the held-out photo's crust
    with pytest.raises(SystemExit, match="--fold-models"):
        fold_models_draw(models[:2], names, SIDE, folds)


def test_a_run_with_crusts_trains_under_the_photo_banks_crusts_and_exports_them():
    hp = hyper("layered", "modern", 64, channels=8, crusts=True)
    setup = build_layered(hp, DEFAULT_VOCABULARY)
    pictures, _ = shipped_bank().crust_table(64)
    for model in (setup.nets["model"], setup.export()):
        assert model.config.crusts == shipped_bank().names and torch.equal(model.crust.pictures, pictures)
    assert not any(p is model.crust.pictures for p in setup.nets["model"].parameters())  # a table, never trained


def test_a_run_with_crusts_lays_the_bases_and_the_detail_asked_for_as_the_critic_sees_them():
    hp = hyper("layered", "modern", 64, channels=8, crusts=True, crust_whole="white", crust_detail=2.0)
    model = build_layered(hp, DEFAULT_VOCABULARY).nets["model"]
    white = shipped_bank().crust_fields(whole="white")["crust_whole"]
    assert model.config.crust_detail == 2.0 and model.config.crust_whole == white and 0 < len(white) < 20


@pytest.mark.parametrize("option", [dict(crust_whole="white"), dict(crust_detail=1.0)])
def test_crust_options_without_crusts_are_refused(option):
    with pytest.raises(ValueError, match="need --crusts true"):
        hyper("layered", "modern", 64, **option)


def test_a_run_holding_photos_out_sees_neither_their_pieces_bases_crusts_nor_photos():
    held = [2, 4, 19]
    hp = hyper("layered", "modern", 64, channels=8, crusts=True, kitchen="painted", hold_out="2,4,19",
               photo_weight=0.1, critic_sees="bases")  # the critic's pictures: the bank's bases, no ../shared needed
    setup = build_layered(hp, DEFAULT_VOCABULARY)
    bank, seen = shipped_bank(), [i for i in range(20) if i not in held]
    model = setup.export()
    assert model.config.crusts == tuple(bank.names[i] for i in seen)
    assert torch.equal(model.crust.pictures, bank.crust_table(64)[0][seen])
    data = layered_data(hp, DEFAULT_VOCABULARY, 2, 0, False, setup)
    assert len(data.photos[0]) == len(seen)  # the critic's pictures: the seen photos' bases
    kitchen_bank = training_kitchen(hp, DEFAULT_VOCABULARY).bank
    assert set(kitchen_bank.photos) == set(seen)
    assert all(not set(photos) & set(held) for photos in kitchen_bank.piece_photo.values())

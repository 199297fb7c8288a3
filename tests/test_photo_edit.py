"""Restyle a real photo as layer edits: the photo reader, removing and adding toppings on the photo itself."""

import dataclasses
import json

import numpy as np
import pytest
import torch
from PIL import Image

from pizza_models.app import photo_edit as E
from pizza_models.hub import save_checkpoint
from pizza_models.kitchen.bank import LAYERS as PAINTED_LAYERS
from pizza_models.kitchen.bank import shipped_bank
from pizza_models.kitchen.painted import PaintedKitchen
from pizza_models.families.photo_reader import LAYERS, PhotoReader, ReaderConfig, ensemble, read_layers
from pizza_models.pipeline import load
from pizza_models.recipe import parse_recipe
from scripts import photo_reader as reader_script
from scripts.photo_reader import cover_loss, halves, photo_layer_maps, pixels_loss, train_reader

RECIPE = ["tomato_sauce", "mozzarella", "pepperoni", "olives"]
SIDE = 160


@pytest.fixture(scope="module")
def kitchen():
    return PaintedKitchen()


@pytest.fixture(scope="module")
def tiny_reader():
    torch.manual_seed(0)
    return PhotoReader(ReaderConfig(image_size=32, channels=4)).eval()


def painted_reading(kitchen, recipe=RECIPE, seed=3) -> E.PhotoReading:
    """A painted pizza as the 'photo', read with its exact layers (what a perfect reader would find)."""
    parts = kitchen.render_layers(recipe, seed, SIDE)
    shows = np.zeros((SIDE, SIDE), np.int64)
    for name, rgba in parts.layers:
        shows[rgba[..., 3] >= 0.5] = 1 + LAYERS.index(name)
    return E.PhotoReading(np.asarray(parts.image()).copy(), (0, 0, SIDE), shows, LAYERS, parse_recipe(recipe))


def test_reader_layers_are_the_painted_kitchens():
    assert LAYERS == PAINTED_LAYERS


def test_reader_reads_a_recipe_and_a_layer_per_pixel(tiny_reader):
    recipe_logits, layer_logits = tiny_reader.read(torch.zeros(2, 3, 32, 32))
    assert recipe_logits.shape == (2, 28) and layer_logits.shape == (2, 1 + len(LAYERS), 32, 32)


def test_reader_names_a_topping_by_its_likeliest_pixels():
    """With topping_pixels k, a layer's ingredient has the mean probability of its k likeliest pixels; the base's
    ingredients keep the pooled head's logits."""
    torch.manual_seed(0)
    reader = PhotoReader(ReaderConfig(image_size=32, channels=4, topping_pixels=5)).eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        recipe_logits, layer_logits = reader.read(x)
        logits = reader(x)
    shown = layer_logits.softmax(1)[:, 1:].flatten(2)  # (B, L, 1024)
    olives = reader.config.ingredients.index("olives")
    expected = shown[:, LAYERS.index("olives")].sort(1, descending=True).values[:, :5].mean(1)
    assert torch.allclose(logits[:, olives].sigmoid(), expected, atol=1e-5)
    for base in ("tomato_sauce", "mozzarella", "ranch_sauce"):
        i = reader.config.ingredients.index(base)
        assert torch.allclose(logits[:, i], recipe_logits[:, i])


def test_a_reader_config_without_topping_pixels_reads_every_ingredient_by_the_pooled_head(tiny_reader):
    """The readers saved before ``topping_pixels`` existed read as they were measured."""
    reader = PhotoReader(ReaderConfig(image_size=32, channels=4))
    reader.load_state_dict(tiny_reader.state_dict(), strict=True)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(reader.eval()(x), reader.read(x)[0])


def test_topping_pixels_must_fit_the_picture():
    with pytest.raises(ValueError, match="topping_pixels"):
        ReaderConfig(image_size=8, topping_pixels=65)


def test_reader_round_trip(tiny_reader, tmp_path):
    save_checkpoint(tiny_reader, tmp_path / "reader")
    loaded = load(tmp_path / "reader")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    assert isinstance(loaded, PhotoReader) and torch.allclose(loaded(x), tiny_reader(x), atol=1e-5)


def readers_of_seeds(*seeds: int, **config) -> list[PhotoReader]:
    """Tiny readers of one config, each of its own seed (as readers trained apart)."""
    readers = []
    for seed in seeds:
        torch.manual_seed(seed)
        readers.append(PhotoReader(ReaderConfig(image_size=32, channels=4, **config)).eval())
    return readers


def test_an_ensemble_reads_the_mean_of_its_members_probabilities():
    members = readers_of_seeds(0, 1, 2, topping_pixels=5)
    combined = ensemble(members)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        recipe = torch.stack([m(x).sigmoid() for m in members]).mean(0)
        pixels = torch.stack([m.layers(x).softmax(1) for m in members]).mean(0)
        assert combined.config.members == 3
        assert torch.allclose(combined(x).sigmoid(), recipe, atol=1e-5)
        assert torch.allclose(combined.layers(x).softmax(1), pixels, atol=1e-5)


def test_an_ensemble_of_one_reads_as_its_reader():
    reader, x = readers_of_seeds(0)[0], torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(ensemble([reader])(x), reader(x)) and torch.equal(ensemble([reader]).layers(x), reader.layers(x))


def test_an_ensemble_is_made_of_single_readers_of_one_config():
    with pytest.raises(ValueError, match="one config"):
        ensemble(readers_of_seeds(0) + readers_of_seeds(1, topping_pixels=5))
    with pytest.raises(ValueError, match="one config"):
        ensemble([ensemble(readers_of_seeds(0, 1))])
    with pytest.raises(ValueError, match="one config"):
        ensemble([])
    with pytest.raises(ValueError, match="members"):
        ReaderConfig(members=0)


def test_an_ensemble_round_trip(tmp_path):
    combined = ensemble(readers_of_seeds(0, 1))
    save_checkpoint(combined, tmp_path / "reader")
    loaded = load(tmp_path / "reader")
    x = torch.rand(1, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert loaded.config.members == 2 and torch.allclose(loaded(x), combined(x), atol=1e-5)


def test_the_reader_script_reads_folds_and_ships_with_an_ensemble_without_training(dodo20, tmp_path, monkeypatch, one_thread):
    sets = [tmp_path / "a", tmp_path / "b"]
    for seed, folder in enumerate(sets):
        for fold, reader in enumerate(readers_of_seeds(*range(10 * seed, 10 * seed + 5), topping_pixels=5)):
            save_checkpoint(reader, folder / f"fold{fold}")
    monkeypatch.setattr("sys.argv", ["photo_reader.py", "--photos", str(dodo20), "--folds", "5", "--fold-sets", *map(str, sets),
                                     "--members", str(sets[0] / "fold0"), str(sets[1] / "fold0"), "--out", str(tmp_path / "out"),
                                     "--report", str(tmp_path / "report.json")])
    reader_script.main()
    report = json.loads((tmp_path / "report.json").read_text())
    assert len(report["folds"]) == 5 and 0 <= report["held_out"]["precision"] <= 1
    shipped = load(tmp_path / "out")
    assert shipped.config.members == 2 and (tmp_path / "out" / "metrics.json").is_file()


def test_a_reading_shows_only_the_recipes_layers(tiny_reader):
    shows = read_layers(tiny_reader, torch.rand(1, 3, 32, 32) * 2 - 1, ["tomato_sauce", "ham", "olives"], 50)
    assert shows.shape == (50, 50)
    assert set(np.unique(shows)) <= {0, 1 + LAYERS.index("ham"), 1 + LAYERS.index("olives")}


def test_removing_changes_only_that_topping_and_its_rim(kitchen):
    reading = painted_reading(kitchen)
    out = E.remove(reading, "pepperoni")
    changed = (out != reading.photo).any(-1)
    assert changed.sum() > 0.5 * reading.mask("pepperoni").sum()
    assert not (changed & ~E._grow(reading.mask("pepperoni"), 3)).any()


def test_removing_leaves_the_base_behind(kitchen):
    # The same pizza drawn without pepperoni has the same base and olives: the removal gets closer to it.
    reading = painted_reading(kitchen)
    without = np.asarray(kitchen.render(["tomato_sauce", "mozzarella", "olives"], 3, SIDE)).astype(float)
    hole = reading.mask("pepperoni")
    before = np.abs(reading.photo.astype(float) - without)[hole].mean()
    after = np.abs(E.remove(reading, "pepperoni").astype(float) - without)[hole].mean()
    assert after < 0.6 * before


def test_adding_lays_pieces_and_leaves_every_other_pixel(kitchen):
    reading = painted_reading(kitchen)
    out = E.add(reading, "mushrooms", 1, seed=4, kitchen=kitchen)
    layer = E._fitted_layer(kitchen, parse_recipe(RECIPE + ["mushrooms"]), "mushrooms", 4, SIDE)
    changed = (out != reading.photo).any(-1)
    assert changed.sum() > 100
    assert not (changed & (layer[..., 3] == 0)).any()


def test_a_double_portion_adds_more_pieces(kitchen):
    reading = painted_reading(kitchen)
    one = (E.add(reading, "mushrooms", 1, 4, kitchen) != reading.photo).any(-1).sum()
    two = (E.add(reading, "mushrooms", 2, 4, kitchen) != reading.photo).any(-1).sum()
    assert two > 1.3 * one


def test_an_added_portion_is_laid_as_densely_as_the_photos_are_covered(kitchen):
    reading = painted_reading(kitchen)
    sparse = (E.add(reading, "olives", 1, 4, kitchen) != reading.photo).any(-1).sum()  # the clip-art kitchen's count
    dense = (E.add(reading, "olives", 1, 4) != reading.photo).any(-1).sum()  # the default: E.portion_kitchen()
    assert dense > 1.3 * sparse


def test_a_double_portion_at_the_photos_density_adds_more_pieces(kitchen):
    reading, dense = painted_reading(kitchen), E.portion_kitchen()
    one = (E.add(reading, "mushrooms", 1, 4, dense) != reading.photo).any(-1).sum()
    two = (E.add(reading, "mushrooms", 2, 4, dense) != reading.photo).any(-1).sum()
    assert two > 1.3 * one


def test_changes_say_what_a_photo_edit_can_and_cannot_do():
    source = parse_recipe(["tomato_sauce", "mozzarella", "pepperoni", "olives", "ham"])
    target = parse_recipe(["cheese_sauce", "mozzarella", "pepperoni", "pepperoni", "mushrooms", "ham"])
    removed, added, skipped = E.changes(source, target, LAYERS)
    assert removed == ["olives"]
    assert added == {"pepperoni": 1, "mushrooms": 1}
    assert skipped == ["cheese_sauce", "tomato_sauce"]


def test_unseen_names_what_is_taken_off_but_was_not_found_on_the_photo(kitchen):
    reading = painted_reading(kitchen)  # pepperoni and olives, both found
    target = ["tomato_sauce", "mozzarella", "mushrooms"]
    assert E.unseen(reading, target) == []
    olives = reading.shows == 1 + LAYERS.index("olives")
    missed = dataclasses.replace(reading, shows=np.where(olives, 0, reading.shows))  # a reader that found no olive
    assert E.unseen(missed, target) == ["olives"]
    assert (E.remove(missed, "olives") == missed.photo).all()  # so nothing of them is taken off


def test_restyle_keeps_every_pixel_outside_the_box_and_edits(tiny_reader, kitchen):
    photo = Image.new("RGB", (220, 180), (250, 250, 250))
    photo.paste(kitchen.render(RECIPE, 1, 150), (40, 15))
    box = (35, 10, 160)
    reading = E.read(tiny_reader, photo, RECIPE, box)
    out, skipped = E.restyle_photo(reading, ["tomato_sauce", "mozzarella", "olives", "mushrooms"], kitchen=kitchen)
    original = np.asarray(photo)
    assert out.shape == original.shape and skipped == []
    outside = np.ones(original.shape[:2], bool)
    outside[10:170, 35:195] = False
    assert np.array_equal(out[outside], original[outside])
    assert (out != original).any()


def test_photos_are_edited_at_their_own_size_up_to_512():
    assert E.fit_photo(Image.new("RGB", (300, 200))).shape == (200, 300, 3)
    assert E.fit_photo(Image.new("RGB", (2000, 1000))).shape == (256, 512, 3)


def test_the_photo_banks_layer_maps_resize_to_a_reading_of_every_pixel():
    bank = shipped_bank()
    maps = photo_layer_maps(bank, np.arange(3), 32)  # Double Pepperoni, Crazy, Don Bacon
    assert maps.shape == (3, 1 + len(LAYERS), 32, 32)
    assert torch.allclose(maps.sum(1), torch.ones(3, 32, 32))
    assert (maps.argmax(1) == 1 + LAYERS.index("pepperoni")).any(dim=(1, 2)).all()


def test_the_photos_layer_maps_teach_the_readers_layer_head():
    bank, kitchen = shipped_bank(), PaintedKitchen()
    photos, labels = torch.rand(2, 3, 32, 32) * 2 - 1, torch.zeros(2, len(ReaderConfig().ingredients))
    maps = photo_layer_maps(bank, np.arange(2), 32)
    readers = [train_reader(photos, labels, kitchen, 2, 0, n_painted=4, size=32, channels=4, photo_maps=maps,
                            photo_layer_weight=weight) for weight in (0.0, 1.0)]
    assert not torch.equal(readers[0].pixels.weight, readers[1].pixels.weight)


def test_the_photos_recipes_can_teach_the_readers_layer_head():
    kitchen, labels = PaintedKitchen(), torch.zeros(2, len(ReaderConfig().ingredients))
    labels[0, ReaderConfig().ingredients.index("pepperoni")] = 1
    photos = torch.rand(2, 3, 32, 32) * 2 - 1
    readers = [train_reader(photos, labels, kitchen, 2, 0, n_painted=4, size=32, channels=4, photo_pixel_weight=weight)
               for weight in (0.0, 1.0)]
    assert not torch.equal(readers[0].pixels.weight, readers[1].pixels.weight)


def test_a_reading_that_covers_less_than_the_photos_layer_maps_costs():
    maps = photo_layer_maps(shipped_bank(), np.arange(2), 32)  # (2, 1 + L, 32, 32), about a third toppings
    all_base, all_pepperoni = torch.zeros(2, 1 + len(LAYERS), 32, 32), torch.zeros(2, 1 + len(LAYERS), 32, 32)
    all_base[:, 0], all_pepperoni[:, 1 + LAYERS.index("pepperoni")] = 20, 20
    assert float(cover_loss(all_base, maps)) > 0.1
    assert float(cover_loss(all_pepperoni, maps)) == 0.0


def test_a_photos_recipe_asks_for_pixels_of_its_toppings_only():
    present = torch.zeros(1, len(LAYERS))
    present[0, LAYERS.index("olives")] = 1

    def reading(topping: str) -> torch.Tensor:  # (1, 1 + L, 16, 16): 16 pixels of the topping, the rest base
        logits = torch.zeros(1, 1 + len(LAYERS), 16, 16)
        logits[0, 0] = 20
        logits[0, 0, :4, :4], logits[0, 1 + LAYERS.index(topping), :4, :4] = 0, 20
        return logits

    assert float(pixels_loss(reading("olives"), present, 16)) < 0.01 < 1 < float(pixels_loss(reading("ham"), present, 16))


def test_a_reader_without_photo_views_learns_from_painted_pizzas_alone():
    kitchen, labels = PaintedKitchen(), torch.zeros(2, len(ReaderConfig().ingredients))
    readers = {(views, fill): train_reader(torch.full((2, 3, 32, 32), fill), labels, kitchen, 2, 0, n_painted=4, size=32,
                                           channels=4, n_views=views) for views in (0, 2) for fill in (-1.0, 1.0)}

    def same(a, b) -> bool:
        return all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())

    assert same(readers[0, -1.0], readers[0, 1.0])  # the photos never read
    assert not same(readers[2, -1.0], readers[2, 1.0])


def test_halves_join_two_photos_views_with_both_recipes():
    views, labels = torch.stack([torch.zeros(3, 16, 16), torch.ones(3, 16, 16)]), torch.eye(2)
    g = torch.Generator().manual_seed(0)
    cut, union = halves(views, labels, 1.0, g)
    for k in range(2):
        assert 0.3 < float(cut[k, 0].mean()) < 0.7  # about half of each view comes from the other one
    assert torch.equal(union, torch.ones(2, 2))
    state = g.get_state()
    same, same_labels = halves(views, labels, 0.0, g)
    assert same is views and same_labels is labels and torch.equal(g.get_state(), state)  # off: nothing drawn

"""scripts/take_sprites.py: one topping's sprites from a refitted model, every other weight the checkpoint's."""

import pytest
import torch

from pizza_models.families.layered import LayeredConfig, LayeredPizza
from pizza_models.hub import save_checkpoint
from pizza_models.pipeline import load
from scripts.take_sprites import main, take_sprites

CONFIG = LayeredConfig(image_size=32, pieces=("pepperoni", "red_onion", "olives"), channels=8, sprite_size=8,
                       max_pieces=16, variants=2)


def model(seed: int) -> LayeredPizza:
    torch.manual_seed(seed)
    return LayeredPizza(CONFIG).eval()


def test_only_the_named_toppings_sprites_and_their_frequencies_change():
    shipped, refit = model(0), model(1)
    with torch.no_grad():
        refit.layout.variant_logits.normal_()  # (3 pieces, 2 variants): the refit draws its sprites at other frequencies
    before = {k: v.clone() for k, v in shipped.state_dict().items()}
    taken = take_sprites(shipped, refit, ["red_onion"])
    rows = slice(2, 4)  # red onion is piece 1 of 3, two variants each
    assert torch.equal(taken.sprites[rows], refit.sprites[rows])
    assert torch.equal(taken.sprites[:2], before["sprites"][:2]) and torch.equal(taken.sprites[4:], before["sprites"][4:])
    frequencies = taken.layout.variant_logits
    assert torch.equal(frequencies[1], refit.layout.variant_logits[1])
    assert torch.equal(frequencies[[0, 2]], before["layout.variant_logits"][[0, 2]])
    changed = ("sprites", "layout.variant_logits")
    assert all(torch.equal(v, before[k]) for k, v in taken.state_dict().items() if k not in changed)


def test_a_topping_the_model_does_not_draw_is_a_clear_error():
    with pytest.raises(ValueError, match="basil: not pieces of this model"):
        take_sprites(model(0), model(1), ["basil"])


def test_models_of_other_pieces_are_refused():
    other = LayeredPizza(LayeredConfig(image_size=32, pieces=("pepperoni",), channels=8, sprite_size=8, max_pieces=16, variants=2))
    with pytest.raises(ValueError, match="do not line up"):
        take_sprites(model(0), other, ["pepperoni"])


def test_the_script_writes_a_checkpoint_that_loads(tmp_path):
    save_checkpoint(model(0), tmp_path / "shipped")
    save_checkpoint(model(1), tmp_path / "refit")
    main([str(tmp_path / "shipped"), str(tmp_path / "refit"), str(tmp_path / "out"), "--pieces", "red_onion"])
    out, refit = load(tmp_path / "out"), load(tmp_path / "refit")
    assert torch.equal(out.sprites[2:4], refit.sprites[2:4])
    assert (tmp_path / "out" / "samples.png").is_file()

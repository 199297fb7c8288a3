"""Training the layered family on the kitchen's own layers.

The kitchen gives every picture apart (``Kitchen.render_layers``): the base, each topping's RGBA
layer with the place, size, angle and shade of every piece, each drizzle with its direction.
Every part of ``LayeredPizza`` learns from its own supervision, so no part waits on another:

- sprites: each piece layer is re-drawn from its true layout with the model's sprites, L1 to the
  true layer;
- stroke templates: each way the data draws a drizzle (its number of zig-zag passes, ranked within
  its portions) has a template of its own, drawn at the true direction, L1 to the true layer; the
  template frequencies are their maximum-likelihood estimate;
- base and decomposer: a conditional VAE whose encoder (the decomposer) sees the finished picture
  and whose decoder redraws the base beneath the toppings (L1 + KL); the decomposer also learns
  which layer every pixel shows (cross-entropy) and the geometry (squared error);
- layout: maximum likelihood of the true geometry, piece counts, sizes and shades, and the reach
  of the spread.
"""

import functools
from collections import Counter

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from tqdm import tqdm

from pizza_models import losses
from pizza_models.data import kitchen_recipes
from pizza_models.kitchen import Kitchen
from pizza_models.layered import LayeredConfig, LayeredPizza
from pizza_models.painted import PaintedKitchen
from pizza_models.recipe import Vocabulary, encode

from .families import Hyper, Setup, ema_model, exporter, register
from .steps import unwrap, update


def drawing_order(samples: list) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(pieces, strokes): the ingredients the kitchen draws as pieces and as strokes, each in the
    order the layers of ``samples`` (``PizzaLayers``) are laid, bottom to top."""
    before, seen = Counter(), Counter()
    for layers in samples:
        ids = [i for i, _ in layers.layers]
        seen.update(ids)
        before.update((a, b) for k, a in enumerate(ids) for b in ids[k + 1:])

    def compare(a: str, b: str) -> int:
        return (before[b, a] > before[a, b]) - (before[a, b] > before[b, a]) or (a > b) - (a < b)

    pieces = {i for layers in samples for i in layers.pieces}
    strokes = {i for layers in samples for i in layers.strokes}
    order = sorted(seen, key=functools.cmp_to_key(compare))
    return tuple(i for i in order if i in pieces), tuple(i for i in order if i in strokes)


class LayeredKitchen(Dataset):
    """``n`` kitchen pizzas taken apart, rendered once and kept as uint8 (about 100 KB a pizza).

    Items are (x (3, S, S) in [-1, 1], counts (V,), parts); ``collate`` batches the parts, whose
    pieces and layers vary in number from pizza to pizza.
    """

    def __init__(self, config: LayeredConfig, n: int, seed: int = 0, progress: bool = True, kitchen: Kitchen = None):
        self.config = config
        kitchen = kitchen or Kitchen(config.vocabulary)
        size, vocabulary = config.image_size, config.vocabulary
        self.recipes = kitchen_recipes(n, seed, vocabulary)
        slots = {i: k for k, i in enumerate(config.layers)}
        self.items = []
        for i, recipe in enumerate(tqdm(self.recipes, desc="kitchen layers", disable=not progress)):
            parts = kitchen.render_layers(recipe, seed * 1_000_003 + i, size)
            g = parts.geometry
            layers = [(slots[name], np.clip(np.round(np.concatenate([rgba[..., :3], rgba[..., 3:] * 255], -1)), 0, 255)
                       .astype(np.uint8)) for name, rgba in parts.layers]
            visible = np.zeros((size, size), np.uint8)  # 0: base; 1 + slot: the top layer covering the pixel
            for slot, rgba in layers:
                visible[rgba[..., 3] >= 128] = 1 + slot
            pieces = {slots[name]: np.stack([p.xy[:, 0], p.xy[:, 1], p.size, p.angle, p.shade,
                                             np.zeros_like(p.size) if p.variant is None else p.variant % config.variants], 1)
                      .astype(np.float32) for name, p in parts.pieces.items()}
            self.items.append(dict(
                image=np.asarray(parts.image()), base=np.clip(np.round(parts.base), 0, 255).astype(np.uint8),
                counts=encode(recipe, "counts", vocabulary), geometry=np.array([g.cx, g.cy, g.radius, g.inner], np.float32),
                layers=layers, visible=visible, pieces=pieces,
                strokes={slots[name]: (stroke.angle, stroke.passes) for name, stroke in parts.strokes.items()},
            ))
        # The ways a drizzle is drawn, per portions: its distinct pass counts, ranked into the templates.
        passes = {}
        for item in self.items:
            for slot, (_, n) in item["strokes"].items():
                double = int(item["counts"][config.ingredients.index(config.layers[slot])]) > 1
                passes.setdefault(double, set()).add(n)
        self.variant = {(double, n): min(rank * config.templates // len(values), config.templates - 1)
                        for double, values in passes.items() for rank, n in enumerate(sorted(values))}

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict:
        return self.items[i]

    def collate(self, items: list[dict]):
        """(x (B, 3, S, S) in [-1, 1], counts (B, V), parts): see ``layered_step`` for the parts."""
        def images(arrays) -> torch.Tensor:  # uint8 (N, S, S, C) -> float (N, C, S, S) in [0, 1]
            return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float() / 255

        n_pieces = len(self.config.pieces)
        piece_layers, piece_meta, pieces, piece_of = [], [], [], []
        stroke_layers, stroke_meta = [], []
        for b, item in enumerate(items):
            crowd = len(item["pieces"])
            for slot, rgba in item["layers"]:
                portions = float(item["counts"][self.config.ingredients.index(self.config.layers[slot])])
                if slot < n_pieces:
                    piece_of += [len(piece_layers)] * len(item["pieces"][slot])
                    pieces.append(item["pieces"][slot])
                    piece_layers.append(rgba)
                    piece_meta.append((b, slot, portions, crowd))
                else:
                    angle, passes = item["strokes"][slot]
                    stroke_layers.append(rgba)
                    stroke_meta.append((b, slot - n_pieces, portions, angle, self.variant[portions > 1, passes]))
        side = self.config.image_size
        empty = torch.zeros(0, 4, side, side)
        piece_meta = torch.tensor(piece_meta, dtype=torch.float32).reshape(-1, 4)
        stroke_meta = torch.tensor(stroke_meta, dtype=torch.float32).reshape(-1, 5)
        pieces = torch.from_numpy(np.concatenate(pieces)) if pieces else torch.zeros(0, 6)
        parts = {
            "base": images([item["base"] for item in items]),
            "geometry": torch.from_numpy(np.stack([item["geometry"] for item in items])),
            "visible": torch.from_numpy(np.stack([item["visible"] for item in items])).long(),
            "piece_layers": images(piece_layers) if piece_layers else empty,
            "piece_pizza": piece_meta[:, 0].long(), "piece_slot": piece_meta[:, 1].long(),
            "piece_portions": piece_meta[:, 2], "piece_crowd": piece_meta[:, 3],
            "pieces": pieces, "piece_layer": torch.tensor(piece_of, dtype=torch.long),
            "stroke_layers": images(stroke_layers) if stroke_layers else empty,
            "stroke_pizza": stroke_meta[:, 0].long(), "stroke_slot": stroke_meta[:, 1].long(),
            "stroke_double": (stroke_meta[:, 2] > 1).long(), "stroke_angle": stroke_meta[:, 3],
            "stroke_variant": stroke_meta[:, 4].long(),
        }
        x = images([item["image"] for item in items]) * 2 - 1
        return x, torch.stack([item["counts"] for item in items]), parts


def training_kitchen(hp: Hyper, vocabulary: Vocabulary) -> Kitchen:
    """The kitchen the run learns from: clip-art, or painted with the menu photos."""
    return PaintedKitchen(vocabulary) if hp.kitchen == "painted" else Kitchen(vocabulary)


def layered_config(hp: Hyper, vocabulary: Vocabulary, seed: int = 0) -> LayeredConfig:
    """The model's shape, with the drawing order read off 400 kitchen pizzas."""
    kitchen = Kitchen(vocabulary)
    samples = [kitchen.render_layers(r, i, 32) for i, r in enumerate(kitchen_recipes(400, seed + 7, vocabulary))]
    pieces, strokes = drawing_order(samples)
    return LayeredConfig(image_size=hp.image_size, ingredients=vocabulary.ids, pieces=pieces, strokes=strokes,
                         channels=hp.channels, sprite_size=max(8, hp.image_size // 4), variants=hp.variants)


def high_pass_energy(x: torch.Tensor, cell: int = 8) -> torch.Tensor:
    """(B, C, H / cell, W / cell): root-mean-square, cell by cell, of what a 3x3 box blur removes
    from pictures x (B, C, H, W); cell by cell, so that grain goes where the picture has it."""
    energy = F.avg_pool2d((x - F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)).pow(2), cell)
    return (energy + 1e-8).sqrt()  # a flat cell (a photo's white background) has energy 0, where sqrt's slope is infinite


@register("layered", data=lambda hp, vocabulary, n, seed, progress, setup: LayeredKitchen(
    setup.export().config, n, seed, progress, training_kitchen(hp, vocabulary)))
def build_layered(hp: Hyper, vocabulary: Vocabulary) -> Setup:
    model = LayeredPizza(layered_config(hp, vocabulary))
    nets = {"model": model}
    ema = ema_model(model, hp.ema)
    # Sprites, templates and layout statistics are pictures and numbers, not weights: an Adam step
    # moves each entry by about the learning rate, so they get a rate 15x the networks'.
    tables = {id(p) for p in model.tables()}
    groups = [{"params": [p for p in model.parameters() if id(p) not in tables], "lr": hp.lr},
              {"params": model.tables(), "lr": hp.lr * 15}]
    optimizer = torch.optim.Adam(groups, lr=hp.lr, betas=hp.betas, fused=True)
    return Setup(nets, {"model": optimizer}, layered_step, exporter(model, ema), ema)


def sprite_losses(model: LayeredPizza, parts: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """L1 of every piece layer redrawn with the model's sprites from its true layout, and the negative
    log-likelihood of which sprite each piece is (0 with one sprite per topping)."""
    p = parts["pieces"]  # (N, 6): x, y, size, angle, shade (fractions of the side), variant
    layer_of, slot = parts["piece_layer"], parts["piece_slot"]
    variants = model.config.variants
    sprite = slot[layer_of] * variants + p[:, 5].long()
    drawn = model.render_pieces(p[:, :2], p[:, 2], p[:, 3], p[:, 4], layer_of, sprite, len(parts["piece_layers"]))
    sprite_loss = F.l1_loss(drawn, parts["piece_layers"])
    if variants == 1 or not len(p):
        return sprite_loss, sprite_loss.new_zeros(())
    return sprite_loss, F.cross_entropy(model.layout.variant_logits[slot[layer_of]], p[:, 5].long())


def layered_step(nets, optimizers, x, code, parts, hp: Hyper, ema=None) -> dict[str, float]:
    """One step on every part of the layered model (see the module docstring)."""
    model = unwrap(nets["model"])
    layout, side = model.layout, model.config.image_size
    # The networks run under the loop's autocast; rendering and the losses in float32.
    geometry = parts["geometry"]  # (B, 4): cx, cy, radius, inner
    inner = geometry[:, 3]

    sprite_loss, variant_loss = sprite_losses(model, parts)
    p, layer_of, n_layers = parts["pieces"], parts["piece_layer"], len(parts["piece_layers"])  # p: (N, 6) as there

    # Strokes: each drawn with its own template at the true direction.
    if len(parts["stroke_layers"]):
        slot, double, variant = parts["stroke_slot"], parts["stroke_double"], parts["stroke_variant"]
        drawn = model.render_strokes(slot, double, variant, parts["stroke_angle"], geometry[parts["stroke_pizza"]])
        stroke_loss = F.l1_loss(drawn, parts["stroke_layers"])
        template_loss = F.cross_entropy(layout.template_logits[slot, double], variant)
    else:
        stroke_loss = template_loss = x.new_zeros(())

    # Base and decomposer: a conditional VAE over the picture; which layer shows where; geometry.
    logits, mu, logvar, geometry_guess = model.decomposer(x)
    z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
    base, amplitude = model.base.parts(z, model.base_counts(code), geometry)
    base_loss = F.l1_loss(base.float(), parts["base"])
    # Grain: the smooth base is held fixed; the amplitude learns the pixel-scale energy the
    # smooth decoder leaves out (matched per picture, channel and 8 x 8 cell, in a 3x3 high-pass).
    grained = base.detach().float() + amplitude.float() * torch.randn_like(base, dtype=torch.float32)
    grain_loss = F.mse_loss(high_pass_energy(grained), high_pass_energy(parts["base"])) * 1e3
    kl = losses.kl_divergence(mu.flatten(1).float(), logvar.flatten(1).float()) / (3 * side * side)
    allowed = torch.cat([torch.ones_like(code[:, :1]), (code[:, model.layer_index] > 0).float()], 1)
    logits = logits.float().masked_fill(allowed[:, :, None, None] == 0, -1e4)
    visible_loss = F.cross_entropy(logits, parts["visible"])
    geometry_loss = F.mse_loss(geometry_guess.float(), geometry) * 100

    # Layout: maximum likelihood of what the kitchen did.
    g = torch.stack([geometry[:, 0], geometry[:, 1], geometry[:, 2], inner / geometry[:, 2]], 1)
    layout_loss = losses.gaussian_nll(g, layout.geometry_mean, layout.geometry_log_std)
    if n_layers:
        slot = parts["piece_slot"]
        count = torch.bincount(layer_of, minlength=n_layers).float()
        mean, std = layout.count_stats(slot, parts["piece_portions"], parts["piece_crowd"])
        layout_loss = layout_loss + losses.gaussian_nll(count.log(), mean, std.log())
        piece_slot, piece_inner = slot[layer_of], inner[parts["piece_pizza"]][layer_of]
        size = layout.size[piece_slot]
        layout_loss = layout_loss + losses.gaussian_nll((p[:, 2] / piece_inner).log(), size[:, 0], size[:, 1])
        layout_loss = layout_loss + losses.gaussian_nll(p[:, 4] - 1, torch.zeros_like(p[:, 4]), layout.shade_log_std[piece_slot])
        centre = geometry[parts["piece_pizza"]][layer_of, :2]
        rho2 = ((p[:, :2] - centre) ** 2).sum(1) / piece_inner**2
        layout_loss = layout_loss + F.mse_loss(torch.sigmoid(layout.reach[piece_slot]) ** 2, 2 * rho2) * 10

    loss = (10 * sprite_loss + 10 * stroke_loss + template_loss + variant_loss + 10 * base_loss + grain_loss + hp.kl_weight * kl
            + visible_loss + geometry_loss + 0.1 * layout_loss)
    update(optimizers["model"], loss)
    if ema is not None:
        ema.update_parameters(model)
    return {name: value.item() for name, value in dict(
        loss=loss, sprites=sprite_loss, strokes=stroke_loss, base=base_loss, grain=grain_loss, kl=kl,
        visible=visible_loss, geometry=geometry_loss, layout=layout_loss).items()}


__all__ = ["LayeredKitchen", "build_layered", "drawing_order", "layered_config", "layered_step", "sprite_losses",
           "training_kitchen"]

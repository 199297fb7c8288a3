"""Training the layered family on the kitchen's own layers.

The kitchen gives every picture apart (``Kitchen.render_layers``): the base, each topping's RGBA layer with the place, size, angle and shade
of every piece, each drizzle with its direction. Each part of ``LayeredPizza`` learns from its own supervision, so none waits on another:

- sprites: each piece layer is re-drawn from its true layout with the model's sprites, L1 to the true layer;
- stroke templates: each way the data draws a drizzle (its number of zig-zag passes, ranked within its portions) has a
  template of its own, drawn at the true direction, L1 to the true layer; the template frequencies are their ML estimate;
- base and decomposer: a conditional VAE whose encoder (the decomposer) sees the finished picture and whose decoder redraws
  the base beneath the toppings (L1 + KL); the decomposer also learns which layer each pixel shows and the geometry;
- layout: maximum likelihood of the true geometry, piece counts, sizes and shades, and the reach of the spread;
- with ``--piece-grain``, the texture inside the pieces: a grain amplitude per topping, matched to the kitchen's;
- with ``--photos`` and ``--photo-weight``, the look of the base: a patch critic tells the menu photos (turned, mirrored) from the
  model's pizzas for the same recipes (hinge), and the base learns to fool it (``--critic-*``); ``--anchor-weight`` holds prior-drawn
  bases to the kitchen's colours; ``--photo-patches`` pulls drawn 5x5 patches to the photos' (sliced Wasserstein); ``--crusts`` lays
  the photos' own crusts (``--crust-*``: bases, fine detail) as the critic sees them; ``--hold-out`` hides photos from it all.
"""

from dataclasses import dataclass
from functools import partial
from typing import Iterator, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from tqdm import tqdm

from pizza_models import losses
from pizza_models.augment import diff_augment, policy_names
from pizza_models.compositing import lay
from pizza_models.data import kitchen_recipes
from pizza_models.evaluation.photo_measures import as_float, load_photos
from pizza_models.families.blocks import PatchCritic
from pizza_models.families.layered import LayeredConfig, LayeredPizza
from pizza_models.kitchen.bank import WHOLE, shipped_bank
from pizza_models.kitchen.painted import PaintedKitchen
from pizza_models.kitchen.procedural import Kitchen
from pizza_models.recipe import CHEESE, SAUCE, Recipe, Vocabulary, encode, parse_recipe

from .common import Batch, Setup, Trainer, Update, ema_model, exporter, frozen, register, unwrap
from .hyper import Hyper, knob

TABLE_LR = 15  # sprites, templates and layout statistics learn at this many times the networks' rate


@dataclass(frozen=True, kw_only=True)
class LayeredHyper(Hyper):
    """The layered model's options: its kitchen, its sprites, and the weight of each of its losses."""

    kitchen: str = knob("clipart", "layered: its pizzas' kitchen, clip-art or painted with the menu photos", ("clipart", "painted"))
    coverage: tuple[float, float] = knob((0.0, 0.0), "layered: painted kitchen: the share of the sauce disc its toppings cover, "
                                         "drawn between these two per pizza (0.4 0.7 as in the photos; 0 0: the clip-art kitchen's counts)")
    crust: str = knob("learned", "layered: the base's outline, learned or cut round by the pizza's geometry", ("learned", "round"))
    base_blocks: int = knob(0, "layered: residual blocks reading noise in the base decoder (cheese blotches, sauce, browning)")
    base_reach: str = knob("dilated", "layered: how those blocks reach 2, 4, 8, ... px (3, 6, 12 at 96 px): dilated 3x3 "
                                      "convolutions, or pooled ones upsampled smoothly (no grid)", ("dilated", "pooled"))
    fine_noise_blur: float = knob(0.0, "layered: sigma (px) of a blur of the noise the finest reach block reads (0: white noise, a grid)")
    base_size: int = knob(0, "layered: the side the base is drawn and pictures are read at, upsampled to --size (0: --size)")
    variants: int = knob(1, "layered: sprites per topping (pieces that differ; the painted kitchen has up to 8 real ones)")
    piece_grain: bool = knob(False, "layered: pieces carry the grain too (amplitude per topping: the kitchen pieces' texture)")
    crusts: bool = knob(False, "layered: lay the photo bank's crusts over the base (the crust table), for the critic and in the export")
    crust_whole: str = knob("none", "layered: with --crusts, the photos laid whole: none, white (without tomato sauce), all", WHOLE)
    crust_detail: float = knob(0.0, "layered: with --crusts, the detail finer than a blur of this sigma (px) inside it is its photo's")
    ema: float = knob(0.0, "decay of the exported weights' moving average (0 exports the raw weights)")
    kl_weight: float = knob(1.0, "weight of the KL term")
    sprite_weight: float = knob(10.0, "layered: weight of the L1 of piece layers redrawn with the sprites")
    stroke_weight: float = knob(10.0, "layered: weight of the L1 of drizzle layers redrawn with the templates")
    template_weight: float = knob(1.0, "layered: weight of the templates' frequencies (negative log likelihood)")
    variant_weight: float = knob(1.0, "layered: weight of the sprites' frequencies, with --variants over 1")
    base_weight: float = knob(10.0, "layered: weight of the L1 of the base redrawn beneath the toppings")
    grain_weight: float = knob(1.0, "layered: weight of the base's grain (its high-pass energy, squared error x 1000)")
    visible_weight: float = knob(1.0, "layered: weight of the decomposer's cross-entropy of which layer each pixel shows")
    geometry_weight: float = knob(1.0, "layered: weight of the decomposer's squared error of the geometry (x 100)")
    layout_weight: float = knob(0.1, "layered: weight of the layout's negative log likelihood")
    photos: str = knob("", "layered: a photo manifest (a folder with recipes.csv) a patch critic tells from the model's pizzas")
    photo_weight: float = knob(0.0, "layered: weight of fooling the photo critic (0: no critic)")
    photo_patches: float = knob(0.0, "layered: weight of the sliced Wasserstein distance of drawn pizzas' 5x5 patches from the photos'")
    critic_lr: float = knob(2e-4, "layered: learning rate of the photo critic")
    critic_reads: str = knob("nothing", "layered: what the photo critic knows of each pizza: nothing, or its sauces and cheese "
                                        "(a projection)", ("nothing", "sauces"))
    critic_size: int = knob(0, "layered: the side the photo critic looks at (0: the model's; 64 on a 96 px model: finer is the kitchen's)")
    critic_sees: str = knob("photos", "layered: what the critic tells drawn pizzas from: the menu photos (the whole pizza drawn), "
                                      "or the photo bank's bases (their toppings refilled; the base alone drawn)", ("photos", "bases"))
    critic_augment: str = knob("translation", "layered: DiffAugment policy of the critic's views, photos and drawn alike "
                                              "(a comma-separated subset of color, translation, cutout, rotation)")
    critic_r1: float = knob(0.0, "layered: gamma of the critic's R1 penalty on the photos (a critic smooth around them)")
    critic_pool: str = knob("box", "layered: how the critic halves its maps: 2x2 boxes, or a [1, 3, 3, 1] blur", ("box", "blur"))
    anchor_weight: float = knob(0.0, "layered: L1 of prior-drawn bases to the kitchen's, per recipe, cell by cell (keeps its colours)")
    anchor_cell: int = knob(8, "layered: the anchor's cell in px (the image size: its mean colour alone, its texture free)")
    anchor_on: str = knob("all", "layered: the pizzas the anchor holds: all, or those ordered without tomato sauce (white sauces, "
                                 "bare dough: 4 of the 20 photos, so the critic pulls them to a red rim)", ("all", "no-tomato-sauce"))
    hold_out: str = knob("", "layered: the photos (indices, comma-separated: a fold of photo_folds) the run never sees: "
                             "not in the painted kitchen's pieces and bases, the critic's photos, the crusts")

    def __post_init__(self) -> None:
        super().__post_init__()
        if (self.photo_weight and self.critic_sees == "photos" or self.photo_patches) and not self.photos:
            raise ValueError("--photo-weight and --photo-patches need --photos: the manifest of the photos to learn from")
        if (self.crust_whole != "none" or self.crust_detail) and not self.crusts:
            raise ValueError("--crust-whole and --crust-detail lay the crust table: they need --crusts true")
        try:
            policy_names(self.critic_augment)
        except ValueError as error:
            raise ValueError(f"--critic-augment: {error}") from None


# Plain Adam, the KL on the base (a lighter one lets its latent carry the pizza and prior samples lose the disc), an EMA.
PRESETS = {"modern": dict(batch_size=32, lr=2e-3, betas=(0.9, 0.99), kl_weight=1.0, ema=0.995, channels=16)}


class LayeredKitchen(Dataset):
    """``n`` kitchen pizzas (of ``recipes``, else sampled) taken apart, rendered once and kept as uint8 (100 KB a pizza).

    Items are (x (3, S, S) in [-1, 1], counts (V,), parts); ``collate`` batches the parts, whose
    pieces and layers vary in number from pizza to pizza.
    """

    def __init__(self, config: LayeredConfig, n: int, seed: int = 0, progress: bool = True, kitchen: Kitchen = None,
                 photos: Optional[tuple[torch.Tensor, torch.Tensor]] = None, recipes: Optional[list[Recipe]] = None):
        self.config, self.photos = config, photos  # photos: (N, 3, S, S) in [-1, 1] and their counts (N, V)
        self.views = torch.Generator().manual_seed(seed)
        size, vocabulary, kitchen = config.image_size, config.vocabulary, kitchen or Kitchen(config.vocabulary)
        self.recipes = kitchen_recipes(n, seed, vocabulary) if recipes is None else list(recipes)[:n]
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
                strokes={slots[name]: (stroke.angle, stroke.passes) for name, stroke in parts.strokes.items()}))
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
        empty = torch.zeros(0, 4, self.config.image_size, self.config.image_size)
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
            "stroke_variant": stroke_meta[:, 4].long()}
        if self.photos is not None:  # as many photos as pizzas, each in one of its 8 turns and mirrorings
            pictures, counts = self.photos
            pick = torch.randint(len(pictures), (len(items),), generator=self.views)
            turns, flips = torch.randint(4, (len(items),), generator=self.views), torch.rand(len(items), generator=self.views)
            views = [p.rot90(int(k), (1, 2)) for p, k in zip(pictures[pick], turns)]
            parts["photos"] = torch.stack([v.flip(2) if f < 0.5 else v for v, f in zip(views, flips)])
            parts["photo_counts"] = counts[pick]
        x = images([item["image"] for item in items]) * 2 - 1
        return x, torch.stack([item["counts"] for item in items]), parts


def training_kitchen(hp: LayeredHyper, vocabulary: Vocabulary) -> Kitchen:
    """The kitchen the run learns from: clip-art, or painted with the menu photos it may see."""
    coverage = tuple(hp.coverage) if max(hp.coverage) > 0 else None
    bank = shipped_bank().subset(shipped_bank().seen(hp.hold_out)) if hp.kitchen == "painted" else None
    return Kitchen(vocabulary) if bank is None else PaintedKitchen(vocabulary, coverage=coverage, bank=bank)


def layered_config(hp: LayeredHyper, vocabulary: Vocabulary, resumed: Optional[dict] = None) -> LayeredConfig:
    """The model's shape, its layers in the kitchen's drawing order (or in the order of the run it resumes)."""
    resuming = resumed and resumed.get("family") == "layered"  # its weights are in that order
    pieces, strokes = (resumed["pieces"], resumed["strokes"]) if resuming else training_kitchen(hp, vocabulary).drawing_order()
    base = hp.base_size or hp.image_size  # latent cells of 8 px from 64 px up (12 x 12 at 96); reach cells 2, 4, 8 px at 64
    return LayeredConfig(image_size=hp.image_size, ingredients=vocabulary.ids, pieces=pieces, strokes=strokes,
                         channels=hp.channels, sprite_size=max(8, hp.image_size // 4), variants=hp.variants, crust=hp.crust,
                         base_blocks=hp.base_blocks, base_reach=hp.base_reach, base_size=hp.base_size, piece_grain=hp.piece_grain,
                         base_latent_side=max(8, base // 8), reach_cell=max(2, base // 32), fine_noise_blur=hp.fine_noise_blur,
                         crust_detail=hp.crust_detail, **(shipped_bank().crust_fields(hp.hold_out, hp.crust_whole) if hp.crusts else {}))


def critic_photos(hp: LayeredHyper, vocabulary: Vocabulary) -> Optional[tuple[torch.Tensor, torch.Tensor]]:
    """The photos of ``--photos`` (or with ``--critic-sees bases`` the photo bank's bases) (N, 3, S, S) in [-1, 1] and their
    counts (N, V) (the bases': their sauces and cheese); None without a critic or --photo-patches."""
    if not (hp.photo_weight or hp.photo_patches):
        return None
    size = hp.critic_size or hp.image_size
    if hp.critic_sees == "bases":
        images = (bank := shipped_bank()).bases
        recipes = [parse_recipe(list(sauces) + ["mozzarella"] * cheese, vocabulary) for sauces, cheese in zip(bank.sauces, bank.cheese)]
    else:
        try:
            images, recipes = load_photos(hp.photos, size, vocabulary)
        except (OSError, ValueError) as error:
            raise ValueError(f"--photos {hp.photos}: {error}") from None
    if hp.hold_out and len(images) != len(shipped_bank().names):  # the bank's photos are those of --photos, in their order
        raise ValueError(f"--hold-out indexes the photo bank's {len(shipped_bank().names)} photos; --photos has {len(images)}")
    seen = shipped_bank().seen(hp.hold_out) if hp.hold_out else list(range(len(images)))
    return as_float(images[seen], size), torch.stack([encode(recipes[i], "counts", vocabulary) for i in seen])


def layered_data(hp: LayeredHyper, vocabulary: Vocabulary, n: int, seed: int, progress: bool, setup: Setup) -> Dataset:
    """``n`` pizzas of the run's kitchen in the layers of the model ``setup`` trains (and the critic's photos)."""
    return LayeredKitchen(setup.export().config, n, seed, progress, training_kitchen(hp, vocabulary),
                          critic_photos(hp, vocabulary))


def build_layered(hp: LayeredHyper, vocabulary: Vocabulary, resumed: Optional[dict] = None) -> Setup:
    """The layered model, one Adam with a larger rate for its tables, its EMA."""
    model = LayeredPizza(layered_config(hp, vocabulary, resumed))
    if hp.crusts:  # a table, not weights: filled here, never trained
        table, seen = shipped_bank().crust_table(model.config.image_size), shipped_bank().seen(hp.hold_out)  # of the photos seen
        model.crust.load_state_dict(dict(zip(("pictures", "radius"), (t[seen] for t in table))))
    ema = ema_model(model, hp.ema)
    # Sprites, templates, layout statistics are pictures and numbers, not weights: an Adam step moves each by about its rate.
    tables = {id(p) for p in model.tables()}
    groups = [{"params": [p for p in model.parameters() if id(p) not in tables], "lr": hp.lr},
              {"params": model.tables(), "lr": hp.lr * TABLE_LR}]
    nets, optimizers = {"model": model}, {"model": torch.optim.Adam(groups, lr=hp.lr, betas=hp.betas, fused=True)}
    if hp.photo_weight:
        reads = tuple(i for i, ingredient in enumerate(vocabulary) if ingredient.kind in (SAUCE, CHEESE))
        nets["critic"] = PatchCritic(reads=reads if hp.critic_reads == "sauces" else (), blur=hp.critic_pool == "blur")
        optimizers["critic"] = torch.optim.Adam(nets["critic"].parameters(), lr=hp.critic_lr, betas=(0.0, 0.99), fused=True)
    return Setup(nets, optimizers, layered_step, exporter(model, ema), ema, model)


def piece_grain_loss(model: LayeredPizza, drawn: torch.Tensor, parts: dict) -> torch.Tensor:
    """The texture inside the pieces: the layers drawn with the sprites (N, 4, S, S), held fixed, grained with the
    model's piece grain on fresh noise, against the kitchen's layers, energy matched layer by layer (x 1000)."""
    true, fixed = parts["piece_layers"], drawn.detach()
    inside = -F.max_pool2d(-torch.minimum(fixed[:, 3:], true[:, 3:]), 3, 1, 1) > 0.95  # (N, 1, S, S): 1 px in from every edge
    grained = model.grained_pieces(fixed, parts["piece_slot"], torch.randn_like(fixed[:, :1]))[:, :3]
    return F.mse_loss(losses.interior_energy(grained, inside), losses.interior_energy(true[:, :3], inside)) * 1e3


def sprite_losses(model: LayeredPizza, parts: dict) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """L1 of every piece layer redrawn with the model's sprites from its true layout, the negative log-likelihood
    of which sprite each piece is (0 with one sprite per topping), and with piece grain its ``piece_grain_loss``."""
    p = parts["pieces"]  # (N, 6): x, y, size, angle, shade (fractions of the side), variant
    layer_of, slot, variants = parts["piece_layer"], parts["piece_slot"], model.config.variants
    sprite = slot[layer_of] * variants + p[:, 5].long()
    drawn = model.render_pieces(p[:, :2], p[:, 2], p[:, 3], p[:, 4], layer_of, sprite, len(parts["piece_layers"]))
    sprite_loss, zero = F.l1_loss(drawn, parts["piece_layers"]), drawn.new_zeros(())
    grain = piece_grain_loss(model, drawn, parts) if model.config.piece_grain and len(p) else zero
    if variants == 1 or not len(p):
        return sprite_loss, zero, grain
    return sprite_loss, F.cross_entropy(model.layout.variant_logits[slot[layer_of]], p[:, 5].long()), grain


def stroke_losses(model: LayeredPizza, x: torch.Tensor, parts: dict) -> tuple[torch.Tensor, torch.Tensor]:
    """L1 of every drizzle layer redrawn with its template at the true direction; NLL of which template each is."""
    if not len(parts["stroke_layers"]):
        return x.new_zeros(()), x.new_zeros(())
    slot, double, variant = parts["stroke_slot"], parts["stroke_double"], parts["stroke_variant"]
    drawn = model.render_strokes(slot, double, variant, parts["stroke_angle"], parts["geometry"][parts["stroke_pizza"]])
    return F.l1_loss(drawn, parts["stroke_layers"]), F.cross_entropy(model.layout.template_logits[slot, double], variant)


def base_losses(model: LayeredPizza, x: torch.Tensor, code: torch.Tensor, parts: dict) -> dict[str, torch.Tensor]:
    """The base and the decomposer, a conditional VAE over the picture x (B, 3, S, S): the base's L1, its grain, the KL,
    which layer shows where (cross-entropy) and the geometry (squared error)."""
    side, geometry = model.config.image_size, parts["geometry"]  # (B, 4): cx, cy, radius, inner
    logits, mu, logvar, geometry_guess = model.decomposer(x)
    z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
    noise = torch.randn(len(x), 1, side, side, device=x.device)  # the grain map a drawing would feed its reach blocks
    base, amplitude = model.base.parts(z, model.base_counts(code), geometry, noise)
    # Grain: the smooth base is held fixed; the amplitude learns the pixel-scale energy the
    # smooth decoder leaves out (matched per picture, channel and 8 x 8 cell, in a 3x3 high-pass).
    grained = base.detach().float() + amplitude.float() * torch.randn_like(base, dtype=torch.float32)
    allowed = torch.cat([torch.ones_like(code[:, :1]), (code[:, model.layer_index] > 0).float()], 1)
    logits = logits.float().masked_fill(allowed[:, :, None, None] == 0, -1e4)
    return {
        "base": F.l1_loss(base.float(), parts["base"]),
        "grain": F.mse_loss(losses.high_pass_energy(grained), losses.high_pass_energy(parts["base"])) * 1e3,
        "kl": losses.kl_divergence(mu.flatten(1).float(), logvar.flatten(1).float()) / (3 * side * side),
        "visible": F.cross_entropy(logits, parts["visible"]), "geometry": F.mse_loss(geometry_guess.float(), geometry) * 100}


def anchor_loss(model: LayeredPizza, code: torch.Tensor, parts: dict, held: Optional[torch.Tensor] = None,
                cell: int = 8) -> torch.Tensor:
    """L1 of the base drawn from the prior (its latent and grain noise) for each kitchen pizza's recipe and geometry against
    that pizza's base, both averaged over ``cell`` px: its colours, not its texture; only the pizzas ``held`` (B,) if given."""
    config, geometry, target = model.config, parts["geometry"], parts["base"]
    side, k = config.image_size, config.base_latent_side
    if held is not None:
        code, geometry, target = code[held], geometry[held], target[held]
        if not len(code):
            return target.new_zeros(())
    latent = torch.randn(len(code), config.base_channels, k, k, device=code.device)
    noise = torch.randn(len(code), 1, side, side, device=code.device)
    base, _ = model.base.parts(latent, model.base_counts(code), geometry, noise)  # (B, 3, S, S) in [0, 1]
    return F.l1_loss(F.avg_pool2d(base.float(), cell), F.avg_pool2d(target, cell))


def layout_loss(model: LayeredPizza, parts: dict) -> torch.Tensor:
    """Maximum likelihood of what the kitchen did: the geometry, and each topping's piece counts, sizes, shades and reach."""
    layout, geometry, inner = model.layout, parts["geometry"], parts["geometry"][:, 3]
    g = torch.stack([geometry[:, 0], geometry[:, 1], geometry[:, 2], inner / geometry[:, 2]], 1)
    loss = losses.gaussian_nll(g, layout.geometry_mean, layout.geometry_log_std)
    p, layer_of, n_layers = parts["pieces"], parts["piece_layer"], len(parts["piece_layers"])  # p: (N, 6), see sprite_losses
    if not n_layers:
        return loss
    slot, count = parts["piece_slot"], torch.bincount(layer_of, minlength=n_layers).float()
    mean, std = layout.count_stats(slot, parts["piece_portions"], parts["piece_crowd"])
    loss = loss + losses.gaussian_nll(count.log(), mean, std.log())
    piece_slot, piece_inner = slot[layer_of], inner[parts["piece_pizza"]][layer_of]
    loss = loss + losses.gaussian_nll((p[:, 2] / piece_inner).log(), *layout.size[piece_slot].unbind(1))
    loss = loss + losses.gaussian_nll(p[:, 4] - 1, torch.zeros_like(p[:, 4]), layout.shade_log_std[piece_slot])
    centre = geometry[parts["piece_pizza"]][layer_of, :2]
    rho2 = ((p[:, :2] - centre) ** 2).sum(1) / piece_inner**2
    return loss + F.mse_loss(torch.sigmoid(layout.reach[piece_slot]) ** 2, 2 * rho2) * 10


def layered_step(nets: dict, batch: Batch, hp: LayeredHyper) -> Iterator[Update]:
    """One update of every part of the layered model, each on its own supervision (module docstring); a critic's first."""
    model, (x, code, parts) = unwrap(nets["model"]), batch
    if hp.photo_weight or hp.photo_patches:
        photos, counts = parts["photos"], parts["photo_counts"]
        # The photos teach the base alone (crust, sauce, cheese, grain): pieces and drizzles are laid as drawn but detached, for they
        # are real pieces already and a critic recoloured toppings through them (--critic-sees bases: the base alone, as the bank's).
        base, layers = model.draw_parts(model.sample_latent(len(counts), device=counts.device), counts)
        drawn = (base.float() if hp.critic_sees == "bases" else lay(base.float(), layers.detach())) * 2 - 1  # (B, 3, S, S)
        if drawn.shape[-1] != photos.shape[-1]:  # --critic-size: (B, 3, s, s), as the photos
            drawn = F.interpolate(drawn, size=photos.shape[-2:], mode="bilinear", antialias=True)
    if hp.photo_weight:
        critic, views = nets["critic"], partial(diff_augment, policy=hp.critic_augment)
        real = views(photos).detach().requires_grad_(hp.critic_r1 > 0)  # (B, 3, S, S) in [-1, 1]
        real_logits = critic(real, counts)
        judged = {"critic": losses.d_hinge(real_logits, critic(views(drawn.detach()), counts))}
        judged |= {"r1": losses.r1_penalty(real_logits, real)} if hp.critic_r1 else {}
        yield Update("critic", judged["critic"] + hp.critic_r1 / 2 * judged.get("r1", 0), judged)
    # The networks run under the loop's autocast; rendering and the losses in float32.
    terms = dict(zip(("sprites", "variants", "piece_grain"), sprite_losses(model, parts)))
    terms.update(zip(("strokes", "templates"), stroke_losses(model, x, parts)))
    terms.update(base_losses(model, x, code, parts), layout=layout_loss(model, parts))
    if hp.anchor_weight:
        held = code[:, model.config.ingredients.index("tomato_sauce")] == 0 if hp.anchor_on == "no-tomato-sauce" else None
        terms["anchor"] = anchor_loss(model, code, parts, held, hp.anchor_cell)
    if hp.photo_patches:
        terms["patches"] = losses.patch_distance(drawn, photos, n_patches=16384)
    weights = dict(sprites=hp.sprite_weight, variants=hp.variant_weight, strokes=hp.stroke_weight, templates=hp.template_weight,
                   base=hp.base_weight, grain=hp.grain_weight, piece_grain=hp.grain_weight, kl=hp.kl_weight, visible=hp.visible_weight,
                   geometry=hp.geometry_weight, layout=hp.layout_weight, anchor=hp.anchor_weight, patches=hp.photo_patches)
    loss = sum(weights[name] * term for name, term in terms.items())
    logged = ("sprites", "strokes", "base", "grain", "kl", "visible", "geometry", "layout") + ("anchor",) * bool(hp.anchor_weight) \
        + ("piece_grain",) * model.config.piece_grain + ("patches",) * bool(hp.photo_patches)
    logs = {"loss": loss, **{name: terms[name] for name in logged}}
    if not hp.photo_weight:
        yield Update("model", loss, logs)
        return
    with frozen(critic):
        fool = losses.g_hinge(critic(views(drawn), counts))
        yield Update("model", loss + hp.photo_weight * fool, {**logs, "photo": fool})


TRAINER = register(Trainer("layered", LayeredHyper, PRESETS, build_layered, layered_data))

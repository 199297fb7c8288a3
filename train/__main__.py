"""``python -m train {layered,cvae,gan,cvaegan,classifier} ...``: train a model on the kitchen or on photos.

Examples:
    python -m train layered --max-minutes 80                    # the layered model on kitchen layers
    python -m train cvaegan                                     # modern CVAE-GAN on kitchen pizzas
    python -m train gan --preset article --steps 2000           # the article's DCGAN (32 px)
    python -m train cvae --preset article --method 2 \\
        --data ../shared/datasets/dodo20/recipes.csv --views 720  # the article's run on its 20 photos
    torchrun --nproc-per-node 2 -m train gan --steps 100        # DistributedDataParallel
"""

import argparse
import shlex
import sys
from dataclasses import Field, replace
from pathlib import Path
from typing import Sequence

import torch
import torch.nn.functional as F
from torch.utils.data import random_split

from pizza_models.families.cvae import CVAE
from pizza_models.data import KitchenDataset, PhotoDataset, Rotations
from pizza_models.families.gan import Generator
from pizza_models.hub import CheckpointError
from pizza_models.pipeline import load
from pizza_models.recipe import DEFAULT_VOCABULARY, Vocabulary

from .checkpoints import STATE, refuse_overwrite, saved_config, saved_hyper
from .common import Setup
from .distributed import world
from .hyper import PRESET_ALIASES, Hyper, flag, options
from .loop import TrainingDiverged, run, steps_for
from .push import PushError, push
from .registry import build, hyper, trainers


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m train`` (every option with its help text)."""
    p = argparse.ArgumentParser(
        prog="python -m train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("family", nargs="?", default="cvaegan", choices=sorted(trainers()),
                   help="what to train: " + ", ".join(sorted(trainers())) + " (default cvaegan)")
    p.add_argument("--data", default="kitchen",
                   help="'kitchen' for procedurally rendered pizzas (default), or a manifest CSV "
                        "(image,ingredients) such as ../shared/datasets/dodo20/recipes.csv")
    p.add_argument("--preset", default="modern", choices=("article", "modern", *PRESET_ALIASES),
                   help="article: a faithful reproduction of the original models and losses (also 'seed', its "
                        "former name); modern: ours (default)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=float, help="passes over the data set instead of --steps")
    p.add_argument("--max-minutes", type=float,
                   help="time budget: stop (and finish the run as if done) after this many minutes of training")
    knobs = p.add_argument_group("hyper-parameters", "default: the preset's value, shown as preset: value (family); "
                                                     "an option applies to the families it names")
    for name, f in hyper_options().items():
        kind = f.type if isinstance(f.type, type) else type(f.default)
        extra = dict(nargs=2, type=float) if isinstance(f.default, tuple) else dict(type=positive if name == "steps" else kind)
        (length if name == "steps" else knobs).add_argument(
            flag(name), dest=name, choices=f.metadata["choices"], metavar=name.upper(),
            help=f"{f.metadata['help']} ({preset_values(name)})", **extra)
    add_run_options(p)
    return p


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options of the run itself, beside the hyper-parameters: where, on what, how often, how fast."""
    p.add_argument("--out", type=Path, help="run folder (default runs/FAMILY-PRESET-SIZE)")
    p.add_argument("--half", action="store_true",
                   help="store the exported weights in float16 (half the size; loads back into float32)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out: weights, optimizers, step, losses.csv")
    p.add_argument("--init", type=Path, metavar="CHECKPOINT",
                   help="start from the weights of a checkpoint folder (to fine tune it): the network of its family, "
                        "or a GAN's generator as a CVAE(-GAN)'s decoder; the others (encoder, discriminator, "
                        "classifier) start fresh")
    p.add_argument("--train-only", nargs="+", default=(), metavar="WEIGHTS",
                   help="train only these weights, by name or prefix (e.g. sprites), or a whole network by its name "
                        "(e.g. critic: a critic warmed up on a model kept as --init gives it); every other weight stays as "
                        "--init or the resumed run left it")
    p.add_argument("--freeze", nargs="+", default=(), metavar="WEIGHTS",
                   help="keep these weights as --init (or --init-fresh) gives them, by name or prefix (e.g. "
                        "base.reach.0.noise_gain with --init-fresh: a reach block that reads no noise)")
    p.add_argument("--init-fresh", nargs="+", default=(), metavar="WEIGHTS",
                   help="with --init: weights to start fresh all the same, by name or prefix (e.g. sprites: a layered "
                        "model's trained sprites saturate, where Adam no longer moves them)")
    p.add_argument("--push-to-hub", metavar="REPO", help="upload the finished checkpoint to this hub repo (user/name)")
    p.add_argument("--kitchen-pizzas", type=int, default=10_000,
                   help="how many kitchen pizzas to render and cache for --data kitchen (default 10000)")
    p.add_argument("--views", type=int, default=720,
                   help="photo augmentation: rotations (1-degree steps) x mirror views per photo, 1..720 (default 720, as the article)")
    p.add_argument("--menu-pizza", type=int, metavar="N",
                   help="train on the manifest's photo N only (0: its first row; the article's DCGAN trained on "
                        "Double Pepperoni, 0 in dodo20)")
    p.add_argument("--random-views", action="store_true", help="draw a random angle and flip per sample instead of the fixed views")
    p.add_argument("--vocabulary", choices=("default", "manifest"), default="default",
                   help="the 28 original ingredients (default), or the ingredients the manifest uses")
    p.add_argument("--sample-every", type=int, default=200, help="save a sample grid every N steps")
    p.add_argument("--save-every", type=int, default=500, help="save a checkpoint every N steps")
    p.add_argument("--keep-every", type=positive, metavar="N",
                   help="also save every N steps and keep those exported weights in OUT/weights/step_N "
                        "(a save replaces the last one otherwise)")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    p.add_argument("--precision", default="auto", choices=("auto", "bf16", "fp32"),
                   help="auto: bfloat16 autocast where the CPU/GPU runs it natively (much faster), else float32")
    p.add_argument("--workers", type=int, default=0, help="data loader worker processes")
    p.add_argument("--threads", type=positive, help="torch threads (default: one per core the run may use, as taskset "
                                                    "allows; 1 for each of two runs sharing two cores)")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, data order and kitchen data")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs still go to losses.csv)")


def positive(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def hyper_options() -> dict[str, Field]:
    """Every hyper-parameter option of every family, by field name (a name two families share is
    one option: the families' classes share its definition, ``train/hyper.py``)."""
    found: dict[str, Field] = {}
    for trainer in sorted(trainers().values(), key=lambda t: t.family):
        for f in options(trainer.hyper):
            found.setdefault(f.name, f)
    return found


def preset_values(name: str) -> str:
    """What each preset sets ``name`` to, e.g. "article: 32; modern: 64", naming families where they
    differ, and the families the option applies to where not all."""
    owners = {family: t for family, t in sorted(trainers().items()) if name in {f.name for f in options(t.hyper)}}
    parts = []
    for preset in dict.fromkeys(p for t in owners.values() for p in t.presets):
        values = {family: t.presets[preset].get(name, default(t.hyper, name)) for family, t in owners.items()
                  if preset in t.presets}
        if len(set(map(repr, values.values()))) == 1:
            parts.append(f"{preset}: {next(iter(values.values()))!r}")
        elif values:
            parts.append(f"{preset}: " + ", ".join(f"{v!r} ({f})" for f, v in values.items()))
    families = "" if len(owners) == len(trainers()) else f"; {', '.join(owners)} only"
    return "; ".join(parts) + families


def default(hyper_class: type, name: str):
    """The default of a field of a hyper-parameter class."""
    return next(f.default for f in options(hyper_class) if f.name == name)


def parse_args(argv=None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def make_data(args: argparse.Namespace, size: int, encoding: str, vocabulary: Vocabulary, hp=None, setup=None):
    """The training set: cached kitchen renders (or the family's own kitchen data), or manifest
    photos with the article's rotations."""
    if args.data == "kitchen":
        rank, _ = world()
        trainer = trainers()[args.family]
        if trainer.data is not None:
            return trainer.data(hp, vocabulary, args.kitchen_pizzas, args.seed, rank == 0 and not args.no_progress, setup)
        return KitchenDataset(args.kitchen_pizzas, size, seed=args.seed, encoding=encoding, vocabulary=vocabulary,
                              progress=rank == 0 and not args.no_progress)
    photos = PhotoDataset(args.data, size, encoding=encoding, vocabulary=vocabulary, only=args.menu_pizza)
    return Rotations(photos, views=args.views, random=args.random_views, seed=args.seed)


def named_by(name: str, names: Sequence[str]) -> bool:
    """Whether weight ``name`` is one of ``names`` or lies under one (``sprites``, ``base.reach``)."""
    return any(name == n or name.startswith(n + ".") for n in names)


def initialise(setup, folder: Path, fresh_names: Sequence[str] = ()) -> None:
    """Load a checkpoint folder's model into the network of the same class in ``setup`` (and its EMA),
    or a GAN's generator into a CVAE(-GAN)'s decoder: the two are one network class, so a trained
    generator can start the decoder while the encoder learns to invert it. Weights named by or under
    ``fresh_names`` keep the fresh network's values."""
    try:
        model = load(folder)
    except (CheckpointError, OSError) as error:
        raise SystemExit(f"--init {folder}: {error}") from None
    nets = list(setup.nets.values()) + ([setup.ema.module] if setup.ema is not None else [])
    # A network of the checkpoint's class, or one whose class it derives from (a CVAE and a CVAE-GAN share networks).
    pairs = [(net, model) for net in nets if isinstance(net, type(model)) or isinstance(model, type(net))]
    if not pairs and isinstance(model, Generator):
        if any(isinstance(net, CVAE) and net.config.upsample != model.config.upsample for net in nets):
            raise SystemExit(f"--init {folder}: its generator resizes {model.config.upsample}; pass --upsample "
                             f"{model.config.upsample}")
        pairs = [(net.decoder, model.net) for net in nets if isinstance(net, CVAE)]
    if not pairs:
        raise SystemExit(f"--init {folder}: a {model.config.family} checkpoint; this run trains {', '.join(setup.nets)}")
    # A network that grew parts the checkpoint lacks (e.g. --base-blocks) starts them fresh; every
    # weight the checkpoint has must fit.
    names = {name for _, source in pairs for name in source.state_dict()}
    unknown = [f for f in fresh_names if not any(named_by(n, [f]) for n in names)]
    if unknown:
        raise SystemExit(f"--init-fresh {' '.join(unknown)}: no such weights in {folder} (it has e.g. {', '.join(sorted(names)[:4])})")
    fresh, resized, dropped = set(), set(), set()
    try:
        for net, source in pairs:
            state = {name: value for name, value in source.state_dict().items() if not named_by(name, fresh_names)}
            # Buffers the run's network has no place for are tables laid on after training (a layered model's crusts).
            extra = {name for name, _ in source.named_buffers()} & set(state) - set(net.state_dict())
            dropped.update(extra)
            state = {name: value for name, value in state.items() if name not in extra}
            for name, value in net.state_dict().items():
                if name in state and picture_of_another_size(state[name], value):
                    pictures = state[name].float().flatten(0, -4)  # (N, C, H, W)
                    pictures = F.interpolate(pictures, size=value.shape[-2:], mode="bilinear", align_corners=False, antialias=True)
                    state[name] = pictures.reshape(value.shape).to(value.dtype)
                    resized.add(name)
            missing, unexpected = net.load_state_dict(state, strict=False)
            if unexpected:
                raise RuntimeError(f"unexpected weights {unexpected[:3]}")
            fresh.update(".".join(name.split(".")[:3]) for name in missing)  # e.g. base.reach.0
    except RuntimeError:
        raise SystemExit(f"--init {folder}: its weights do not fit this run's networks; use its size, preset and "
                         f"channels ({model.config.image_size} px, {getattr(model.config, 'arch', model.config.family)})") from None
    if fresh:
        print(f"--init {folder}: parts it lacks start fresh: {', '.join(sorted(fresh))}", file=sys.stderr)
    if resized:
        print(f"--init {folder}: pictures resized to this run's size: {', '.join(sorted(resized))}", file=sys.stderr)
    if dropped:
        print(f"--init {folder}: tables this run does not draw with are left out: {', '.join(sorted(dropped))}", file=sys.stderr)


def picture_of_another_size(weight: torch.Tensor, target: torch.Tensor) -> bool:
    """Whether a checkpoint's ``weight`` is a picture (a layered model's sprites or drizzle templates,
    (..., C, H, W)) that ``target`` holds at another size: a model drawn at another size starts from it resized.
    Convolution kernels never differ in size between image sizes, so only pictures match."""
    return weight.dim() >= 4 and weight.shape[:-2] == target.shape[:-2] and weight.shape[-2:] != target.shape[-2:]


def split(data, fraction: float, seed: int):
    """(train, validation): a seeded random ``fraction`` of the examples held out (Keras' 90/10 split)."""
    held_out = round(len(data) * fraction)
    if not 0 < held_out < len(data):
        raise SystemExit(f"--val-fraction {fraction}: holds out {held_out} of {len(data)} examples; use a fraction in (0, 1)")
    train, validation = random_split(data, [len(data) - held_out, held_out], generator=torch.Generator().manual_seed(seed))
    train.collate = getattr(data, "collate", None)
    return train, validation


def run_hyper(args: argparse.Namespace) -> tuple[Hyper, Path]:
    """The run's hyper-parameters and folder: the preset's values, then those of the run it resumes,
    then the command line's; an option that does not apply to the family is refused."""
    given = {name: getattr(args, name) for name in hyper_options()}
    given = {k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}  # pairs (--betas, --coverage)
    given = {k: v for k, v in given.items() if v is not None}
    try:
        hp = hyper(args.family, args.preset, **given)
        out = args.out or Path("runs") / f"{hp.family}-{hp.preset}-{hp.image_size}"
        # A resumed run keeps the settings it was started with unless the command line changes them;
        # a saved option this family no longer has (state of an older version) is left out.
        names = {f.name for f in options(type(hp))} - set(given)
        saved = {k: v for k, v in (saved_hyper(out) if args.resume else {}).items() if k in names}
        return hyper(args.family, args.preset, **{**saved, **given}), out
    except ValueError as error:
        raise SystemExit(f"error: {error}") from None


def run_setup(args: argparse.Namespace, hp: Hyper, out: Path, vocabulary: Vocabulary) -> Setup:
    """The run's networks and optimizers, as the run it resumes built them, or from ``--init``'s weights."""
    resuming = args.resume and (out / STATE).exists()
    if args.resume and not resuming:
        print(f"--resume: nothing to resume in {out} (no {STATE}); starting a new run", file=sys.stderr)
    try:
        setup = build(hp, vocabulary, saved_config(out) if resuming else None)
    except (ValueError, OSError) as error:  # e.g. a judge given as --teacher, a missing teacher folder
        raise SystemExit(f"error: {error}") from None
    if args.init_fresh and not args.init:
        raise SystemExit("--init-fresh names weights of --init's checkpoint; pass --init too")
    if args.init and not resuming:
        initialise(setup, args.init, args.init_fresh)
    if args.train_only:
        trainable(setup, args.train_only, "--train-only", only=True)
    if args.freeze:
        trainable(setup, args.freeze, "--freeze", only=False)
    return setup


def trainable(setup: Setup, names: Sequence[str], option: str, only: bool) -> None:
    """Freeze every weight of the trained networks but those named by or under ``names`` (``only``), or
    those weights themselves (not ``only``). A weight is named as its network has it (``sprites``) or
    under its network's name (``critic``, ``model.sprites``)."""
    weights = [((name, f"{net_name}.{name}"), p) for net_name, net in setup.nets.items() for name, p in net.named_parameters()]
    unknown = [n for n in names if not any(named_by(name, [n]) for both, _ in weights for name in both)]
    if unknown:
        raise SystemExit(f"{option} {' '.join(unknown)}: no such weights (e.g. {', '.join(both[0] for both, _ in weights[:4])})")
    for (name, qualified), p in weights:
        p.requires_grad_(p.requires_grad and (named_by(name, names) or named_by(qualified, names)) == only)


def run_data(args: argparse.Namespace, hp: Hyper, setup: Setup, vocabulary: Vocabulary):
    """(training set, validation set or None): ``--val-fraction`` of the data held out where set."""
    encoding = getattr(setup.export().config, "encoding", "counts")
    try:
        data = make_data(args, hp.image_size, encoding, vocabulary, hp, setup)
    except ValueError as error:
        raise SystemExit(f"--data {args.data}: {error}") from None
    fraction = getattr(hp, "val_fraction", 0.0)  # families with a validation loss have the option
    return split(data, fraction, args.seed) if fraction else (data, None)


def main(argv=None) -> int:
    """``python -m train``: parse, build, render the data, train, and say where the run is."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    vocabulary = Vocabulary.from_manifest(args.data) if args.vocabulary == "manifest" else DEFAULT_VOCABULARY
    hp, out = run_hyper(args)
    refuse_overwrite(out, args.resume)  # before building and rendering anything
    if args.menu_pizza is not None and args.data == "kitchen":
        raise SystemExit("--menu-pizza picks a photo of a manifest: use it with --data MANIFEST.csv")
    setup = run_setup(args, hp, out, vocabulary)
    data, validation = run_data(args, hp, setup, vocabulary)
    if args.epochs:
        hp = replace(hp, steps=steps_for(args.epochs, len(data), hp.batch_size, world()[1]))
    command = "python -m train " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    try:
        run(setup, hp, data, out, hp.steps, resume=args.resume, device=args.device, sample_every=args.sample_every,
            save_every=args.save_every, keep_every=args.keep_every or 0, workers=args.workers, seed=args.seed,
            command=command, progress=not args.no_progress, precision=args.precision, max_minutes=args.max_minutes,
            half=args.half, validation=validation)
    except TrainingDiverged as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if world()[0] != 0:
        return 0
    # The exact command that serves this run beside the shipped models.
    print(f"open it in the app: python app.py --checkpoints {shlex.quote(str(out))}  (listed as {out.name!r} in the Model menus)")
    if args.push_to_hub:
        try:
            url = push(out, args.push_to_hub, hp, command)
        except PushError as error:
            print(f"error: --push-to-hub: {error}", file=sys.stderr)
            return 1
        print(f"pushed {out} to {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

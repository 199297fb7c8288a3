"""``python -m train {cvae,gan,cvaegan,classifier} ...``: train a model on the kitchen or on photos.

Examples:
    python -m train cvaegan                                     # modern CVAE-GAN on kitchen pizzas
    python -m train gan --preset seed --size 32 --steps 2000    # the article's DCGAN
    python -m train cvae --preset seed --method 2 \\
        --data ../shared/datasets/dodo20/recipes.csv --views 720  # the article's run on its 20 photos
    torchrun --nproc-per-node 2 -m train gan --steps 100        # DistributedDataParallel
"""

import argparse
import shlex
import sys
from pathlib import Path

from pizza_models.data import PhotoDataset, Rotations
from pizza_models.recipe import DEFAULT_VOCABULARY, Vocabulary

from .families import build, hyper, trainers
from .loop import STATE, TrainingDiverged, refuse_overwrite, run, saved_hyper, steps_for, world


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m train`` (every option with its help text)."""
    p = argparse.ArgumentParser(
        prog="python -m train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("family", nargs="?", default="cvaegan", choices=sorted(trainers()),
                   help="what to train: layered, cvae, gan, cvaegan (default) or the ingredient classifier")
    p.add_argument("--data", default="kitchen",
                   help="'kitchen' for procedurally rendered pizzas (default), or a manifest CSV "
                        "(image,ingredients) such as ../shared/datasets/dodo20/recipes.csv")
    p.add_argument("--size", type=int, default=None, choices=(32, 64, 128),
                   help="image size; default 32 for the seed preset (as the article), 64 for modern")
    p.add_argument("--preset", default="modern", choices=("seed", "modern"),
                   help="seed: a faithful reproduction of the original models and losses; modern: ours (default)")
    p.add_argument("--method", type=int, choices=(1, 2),
                   help="seed CVAE/CVAE-GAN encoder: recipe after all convolutions (1, default) or as an extra channel (2)")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--steps", type=int, help="optimizer steps in total (default 3000)")
    length.add_argument("--epochs", type=float, help="passes over the data set instead of --steps")
    p.add_argument("--max-minutes", type=float,
                   help="time budget: stop (and finish the run as if done) after this many minutes of training")
    p.add_argument("--batch-size", type=int, help="per process; default from the preset")
    p.add_argument("--lr", type=float, help="learning rate of the generator / VAE / classifier; default from the preset")
    p.add_argument("--lr-d", type=float, help="learning rate of the discriminator (and CVAE-GAN classifier)")
    p.add_argument("--channels", type=int, help="width of the modern networks (default 32)")
    p.add_argument("--kl-weight", type=float, help="weight of the KL term (default 1)")
    p.add_argument("--fm-weight", type=float, help="CVAE-GAN: weight of feature matching on D and C features (default 1)")
    p.add_argument("--adv-weight", type=float, help="modern CVAE-GAN: weight of the hinge loss on prior samples (default 0.1)")
    p.add_argument("--cls-weight", type=float,
                   help="modern CVAE-GAN: weight of the classifier loss on prior samples (default 1; 0 turns it off)")
    p.add_argument("--arch", choices=("vgg", "resnet"), help="classifier: its architecture (default vgg)")
    p.add_argument("--out", type=Path, help="run folder (default runs/FAMILY-PRESET-SIZE)")
    p.add_argument("--half", action="store_true",
                   help="store the exported weights in float16 (half the size; loads back into float32)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out: weights, optimizers, step, losses.csv")
    p.add_argument("--push-to-hub", metavar="REPO", help="upload the finished checkpoint to this hub repo (user/name)")
    p.add_argument("--kitchen-pizzas", type=int, default=10_000,
                   help="how many kitchen pizzas to render and cache for --data kitchen (default 10000)")
    p.add_argument("--views", type=int, default=720,
                   help="photo augmentation: rotations (1-degree steps) x mirror views per photo, 1..720 (default 720, as the article)")
    p.add_argument("--random-views", action="store_true", help="draw a random angle and flip per sample instead of the fixed views")
    p.add_argument("--vocabulary", choices=("default", "manifest"), default="default",
                   help="the 28 original ingredients (default), or the ingredients the manifest uses")
    p.add_argument("--sample-every", type=int, default=200, help="save a sample grid every N steps")
    p.add_argument("--save-every", type=int, default=500, help="save a checkpoint every N steps")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    p.add_argument("--precision", default="auto", choices=("auto", "bf16", "fp32"),
                   help="auto: bfloat16 autocast where the CPU/GPU runs it natively (much faster), else float32")
    p.add_argument("--workers", type=int, default=0, help="data loader worker processes")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, data order and kitchen data")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (logs still go to losses.csv)")
    return p


def parse_args(argv=None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def make_data(args: argparse.Namespace, size: int, encoding: str, vocabulary: Vocabulary, hp=None, setup=None):
    """The training set: cached kitchen renders (or the family's own kitchen data), or manifest
    photos with the article's rotations."""
    if args.data == "kitchen":
        from pizza_models.data import KitchenDataset

        rank, _ = world()
        trainer = trainers()[args.family]
        if trainer.data is not None:
            return trainer.data(hp, vocabulary, args.kitchen_pizzas, args.seed, rank == 0 and not args.no_progress, setup)
        return KitchenDataset(args.kitchen_pizzas, size, seed=args.seed, encoding=encoding, vocabulary=vocabulary,
                              progress=rank == 0 and not args.no_progress)
    photos = PhotoDataset(args.data, size, encoding=encoding, vocabulary=vocabulary)
    return Rotations(photos, views=args.views, random=args.random_views, seed=args.seed)


def main(argv=None) -> int:
    args = parse_args(argv)
    size = args.size or (32 if args.preset == "seed" else 64)
    out = args.out or Path("runs") / f"{args.family}-{args.preset}-{size}"
    vocabulary = Vocabulary.from_manifest(args.data) if args.vocabulary == "manifest" else DEFAULT_VOCABULARY
    given = dict(batch_size=args.batch_size, lr=args.lr, lr_d=args.lr_d, channels=args.channels,
                 kl_weight=args.kl_weight, fm_weight=args.fm_weight, adv_weight=args.adv_weight,
                 cls_weight=args.cls_weight, method=args.method, arch=args.arch)
    # A resumed run keeps the settings it was started with unless the command line changes them.
    saved = saved_hyper(out) if args.resume else {}
    hp = hyper(args.family, args.preset, size, **{k: v if v is not None else saved.get(k) for k, v in given.items()})
    refuse_overwrite(out, args.resume)  # before building and rendering anything
    setup = build(hp, vocabulary)
    if args.resume and not (out / STATE).exists():
        print(f"--resume: nothing to resume in {out} (no {STATE}); starting a new run", file=sys.stderr)
    encoding = getattr(setup.export().config, "encoding", "counts")
    try:
        data = make_data(args, size, encoding, vocabulary, hp, setup)
    except ValueError as error:
        raise SystemExit(f"--data {args.data}: {error}") from None
    _, world_size = world()
    steps = args.steps or (steps_for(args.epochs, len(data), hp.batch_size, world_size) if args.epochs else 3000)
    command = "python -m train " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    try:
        run(setup, hp, data, out, steps, resume=args.resume, device=args.device, sample_every=args.sample_every,
            save_every=args.save_every, workers=args.workers, seed=args.seed, command=command,
            progress=not args.no_progress, precision=args.precision,
            max_minutes=args.max_minutes, half=args.half)
    except TrainingDiverged as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if args.push_to_hub and world()[0] == 0:
        from .push import PushError, push

        try:
            url = push(out, args.push_to_hub, hp, command)
        except PushError as error:
            print(f"error: --push-to-hub: {error}", file=sys.stderr)
            return 1
        print(f"pushed {out} to {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

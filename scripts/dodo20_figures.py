"""The article's figures from the dodo20 runs (``scripts/dodo20.sh``, ``scripts/photo_model.sh``), for docs/dodo20.

    python scripts/dodo20_figures.py runs/dodo20 docs/dodo20 --photos ../shared/datasets/dodo20/recipes.csv

- reconstructions.png: the 20 photos as the models see them (top row), then each CVAE's reconstruction
  (encoded with the photo's recipe, the posterior mean decoded with it): methods 1 and 2, latent 512 and 64;
- style_transfer_method1.jpg / _method2.jpg: row i is menu photo i encoded with its own recipe and decoded
  with every menu recipe (column j: recipe j; the diagonal is the reconstruction), first column the photo;
- singles.png: one pizza per ingredient (noise 0), one row per model;
- photo_models.png: the photos and the reconstructions of each photo-model candidate;
- progress.gif: the one-pizza DCGAN's samples over its training: the first row of each saved grid;
- dcgan_losses.png: its discriminator and generator losses per step (log scale, running mean of 25);
- photos.json: reconstruction PSNR on the 20 photos per model (dB, images in [0, 1]);
- cvae_losses.png / cvae_losses.md: each CVAE's train and validation loss per epoch in the article's
  units (validation.csv), beside the article's final figures.
"""

import argparse
import csv
import json
from pathlib import Path

import matplotlib
import numpy as np
from PIL import Image

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from layered_figures import sheet
from pizza_models.data import load_image, read_manifest, to_pil, to_tensor
from pizza_models.pipeline import load, restyle, single_ingredient_menu

CVAES = ["cvae-method1", "cvae-method2", "cvae-method1-latent64", "cvae-method2-latent64"]
PHOTO_MODELS = ["cvaegan", "kitchen-finetune"]
SIDE = 64  # every picture shown at this size, nearest neighbour
ARTICLE_LOSS = {"cvae-method1": (-0.3232, -0.3164), "cvae-method2": (-0.3245, -0.3191)}  # its final (train, validation)


def progress_strip(samples: Path, out: Path, ms_per_frame: int = 250) -> None:
    """An animated GIF of the first row of every saved sample grid (``step_*.png``, 2-pixel padding):
    a quarter of the run's own progress.gif, which keeps every row."""
    grids = [Image.open(p).convert("RGB") for p in sorted(samples.glob("step_*.png"))]
    if not grids:
        return
    side = (grids[0].height - 2) // 4  # the grid is 4 rows of (side - 2) px pictures, 2 px apart
    frames = [grid.crop((0, 0, grid.width, side + 2)) for grid in grids]
    frames[0].save(out, save_all=True, append_images=frames[1:] + [frames[-1]] * 4, duration=ms_per_frame, loop=0)


def dcgan_losses(losses_csv: Path, out: Path, smooth: int = 25) -> None:
    """The one-pizza DCGAN's D and G losses against step, log scale: D's win and the game's restart."""
    if not losses_csv.exists():
        return
    rows = list(csv.DictReader(open(losses_csv)))
    steps = np.array([int(r["step"]) for r in rows])
    figure, axis = plt.subplots(figsize=(7, 3))
    for column in ("d_loss", "g_loss"):
        values = np.convolve([float(r[column]) for r in rows], np.ones(smooth) / smooth, mode="valid")
        axis.plot(steps[smooth - 1:], values, label=column)
    axis.set_yscale("log")
    axis.set_xlabel("step (batch 16)")
    axis.set_title("DCGAN on Double Pepperoni: losses (running mean of 25 steps)")
    axis.legend()
    figure.tight_layout()
    figure.savefig(out, dpi=100)


def psnr(a: Image.Image, b: Image.Image) -> float:
    x, y = (np.asarray(i, np.float64) / 255 for i in (a, b))
    return float(10 * np.log10(1 / max(np.mean((x - y) ** 2), 1e-12)))


def reconstructions(model, photos) -> list[Image.Image]:
    return [restyle(model, image, recipe, recipe)[0] for image, recipe in photos]


def style_transfer(model, photos) -> Image.Image:
    rows = [[view(model, image)] + [restyle(model, image, recipe, target)[1] for _, target in photos]
            for image, recipe in photos]
    return sheet(rows, [""] * len(rows), 32)  # at the model size: 21 x 20 pictures


def view(model, image: Image.Image) -> Image.Image:
    return to_pil(to_tensor(image, model.config.image_size))


def cvae_losses(runs: Path, out: Path) -> None:
    """Per-epoch train/validation loss (article units) of every CVAE run, and a table of the last epoch."""
    figure, axis = plt.subplots(figsize=(7, 4))
    rows = ["| run | epochs | train | validation | best validation (epoch) | the article (train / validation) |",
            "|---|---|---|---|---|---|"]
    for index, name in enumerate(CVAES):
        path = runs / name / "validation.csv"
        if not path.exists():
            continue
        epochs = list(csv.DictReader(open(path)))
        x = [int(e["epoch"]) for e in epochs]
        colour = f"C{index}"
        axis.plot(x, [float(e["train_article_loss"]) for e in epochs], color=colour, label=f"{name} train")
        axis.plot(x, [float(e["val_article_loss"]) for e in epochs], color=colour, linestyle="--", label=f"{name} validation")
        best = min(epochs, key=lambda e: float(e["val_loss"]))
        article = ARTICLE_LOSS.get(name)
        if article:
            axis.axhline(article[0], color=colour, linestyle=":", linewidth=1)
        rows.append(f"| {name} | {len(epochs)} | {float(epochs[-1]['train_article_loss']):.4f} | "
                    f"{float(epochs[-1]['val_article_loss']):.4f} | {float(best['val_article_loss']):.4f} ({best['epoch']}) | "
                    + (f"{article[0]:.4f} / {article[1]:.4f} |" if article else "- |"))
    axis.set_xlabel("epoch (12,960 training views)")
    axis.set_ylabel("loss / (2 * 3 * H * W)")
    axis.set_title("CVAE loss in the article's units (dotted: the article's final train loss)")
    axis.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(out / "cvae_losses.png", dpi=110)
    (out / "cvae_losses.md").write_text("\n".join(rows) + "\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--photos", type=Path, required=True, help="the dodo20 manifest")
    p.add_argument("--shipped", type=Path, default=Path("checkpoints/dodo20-cvaegan"),
                   help="the photo model shipped before, for comparison")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    photos = [(load_image(photo.path), photo.recipe) for photo in read_manifest(args.photos)]
    models = {name: load(args.runs / name) for name in CVAES + PHOTO_MODELS if (args.runs / name / "config.json").exists()}
    if args.shipped.exists():
        models["shipped dodo20-cvaegan"] = load(args.shipped)
    scores, rows = {}, {}
    for name, model in models.items():
        drawn = reconstructions(model, photos)
        scores[name] = round(float(np.mean([psnr(d, view(model, image)) for d, (image, _) in zip(drawn, photos)])), 2)
        rows[name] = drawn
    first = next(iter(models.values()))
    cvaes = [n for n in CVAES if n in models]
    sheet([[view(first, image) for image, _ in photos]] + [rows[n] for n in cvaes], ["photos"] + cvaes, SIDE
          ).save(args.out / "reconstructions.png")
    others = [n for n in models if n not in CVAES]
    if others:
        sheet([[view(models[n], image) for image, _ in photos] for n in others[:1]] + [rows[n] for n in others],
              ["photos"] + others, SIDE).save(args.out / "photo_models.png")
    for method in ("1", "2"):
        name = f"cvae-method{method}"
        if name in models:
            style_transfer(models[name], photos).save(args.out / f"style_transfer_method{method}.jpg", quality=90)
    singles = {name: [image for image, _ in single_ingredient_menu(model)] for name, model in models.items()}
    sheet(list(singles.values()), list(singles), SIDE).save(args.out / "singles.png")
    cvae_losses(args.runs, args.out)
    progress_strip(args.runs / "gan" / "samples", args.out / "progress.gif")
    dcgan_losses(args.runs / "gan" / "losses.csv", args.out / "dcgan_losses.png")
    (args.out / "photos.json").write_text(json.dumps({"reconstruction_psnr_db": scores}, indent=1) + "\n")
    print(json.dumps(scores, indent=1))


if __name__ == "__main__":
    main()

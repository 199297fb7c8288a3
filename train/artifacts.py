"""What a run leaves in its folder besides weights: losses.csv, sample grids, a GIF, a loss curve, a model card."""

import csv
import io
import json
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Optional, Sequence

import torch
from PIL import Image
from torchvision.utils import make_grid

from pizza_models.data import to_pil
from pizza_models.hub import CONFIG_NAME, atomic_write_bytes
from pizza_models.menu import MENU
from pizza_models.evaluation.reports import to_markdown


LOSSES = "losses.csv"
SAMPLES = "samples"
METRICS = "metrics.json"


def grid_recipes(nrow: int = 8) -> list[str]:
    """Names of the menu recipes in the columns of the sample grids: every few of the real menu."""
    return list(MENU)[:: max(1, len(MENU) // nrow)][:nrow]


class LossLog:
    """``losses.csv``: one row per step, appended and flushed as training goes.

    Opening it for a resumed run drops rows past the resumed step (written after the last
    checkpoint by a run that was then killed), so no row is duplicated or lost. A term the resumed
    run logs and the run before did not becomes a new column (empty in the earlier rows).
    """

    def __init__(self, path: Path, resume_step: int):
        self.path = path
        self.rows: list[dict] = []
        if path.exists():
            with open(path, newline="") as f:
                self.rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
        self.columns: list[str] = list(self.rows[0]) if self.rows else []
        self._rewrite()

    def _rewrite(self) -> None:
        lines = [",".join(self.columns)] if self.columns else []
        lines += [",".join(str(r.get(c, "")) for c in self.columns) for r in self.rows]
        atomic_write_bytes(self.path, ("\n".join(lines) + "\n" if lines else "").encode())

    def append(self, step: int, values: dict[str, float]) -> None:
        row = {"step": step, **{k: f"{v:.6g}" for k, v in values.items()}}
        self.rows.append(row)
        new = [c for c in row if c not in self.columns]
        if new:  # the first row, or a resumed run that logs a term the run before did not
            self.columns += new
            self._rewrite()
            return
        with open(self.path, "a", newline="") as f:
            f.write(",".join(str(row.get(c, "")) for c in self.columns) + "\n")


@torch.no_grad()
def sample_grid(model: torch.nn.Module, z: torch.Tensor, codes: torch.Tensor, nrow: int) -> Image.Image:
    """A grid of ``model.draw(z, codes)``: fixed noise and recipes show progress over a run."""
    was_training = model.training
    model.eval()
    images = model.draw(z, codes)  # (N, 3, H, W) in [-1, 1]
    model.train(was_training)
    return to_pil(make_grid(images, nrow=nrow, padding=2, pad_value=1.0))


def save_png(image: Image.Image, path: Path) -> None:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    atomic_write_bytes(path, buffer.getvalue())


def progress_gif(folder: Path, out: Path, ms_per_frame: int = 250) -> Optional[Path]:
    """An animated GIF of the sample grids in ``folder`` (step order), like the article's GAN movie."""
    frames = [Image.open(p).convert("RGB") for p in sorted(folder.glob("step_*.png"))]
    if not frames:
        return None
    frames[0].save(out, save_all=True, append_images=frames[1:] + [frames[-1]] * 4, duration=ms_per_frame, loop=0)
    return out


def loss_curve(losses_csv: Path, out: Path, smooth: int = 25) -> Optional[Path]:
    """A PNG of every loss column against step, smoothed by a running mean over ``smooth`` steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(losses_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    steps = torch.tensor([float(r["step"]) for r in rows])
    columns = [c for c in rows[0] if c != "step"]
    fig, axes = plt.subplots(len(columns), 1, figsize=(7, 1.8 * len(columns)), sharex=True, squeeze=False)
    for ax, column in zip(axes[:, 0], columns):
        values = torch.tensor([float(r[column]) if r[column] else float("nan") for r in rows])
        kernel = min(smooth, len(values))
        smoothed = torch.nn.functional.avg_pool1d(values[None, None], kernel, stride=1)[0, 0]
        ax.plot(steps, values, alpha=0.25, lw=0.8)
        ax.plot(steps[kernel - 1:], smoothed, lw=1.5)
        ax.set_ylabel(column)
    axes[-1, 0].set_xlabel("step")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def model_card(config: dict, hyper: dict, metrics: Optional[dict], recipes: Sequence[str], command: str,
               steps: Optional[int] = None) -> str:
    """README.md for a checkpoint folder: what it is, how it was trained, the vocabulary, metrics, samples."""
    vocabulary = ", ".join(config.get("ingredients", []))

    metrics_table = (to_markdown(metrics, names=["this model"]) if metrics
                     else "Not evaluated yet (`python -m pizza_models.evaluation.evaluate FOLDER --write`).")
    is_classifier = config["family"] == "classifier"
    trained_as = hyper.get("family") or config["family"]  # a CVAE-GAN's checkpoint before it had a family: a cvae
    trained = "" if steps is None else f"\nSteps trained: {steps}.\n"
    what = ("A multi-label ingredient classifier: it tells which of the ingredients below a pizza image shows."
            if is_classifier else f"A {hyper.get('family')} model that draws a top-down pizza for a list of ingredients.")
    samples = "" if is_classifier else f"""
## Samples
![samples](samples.png)

Columns of the sample grid, one recipe each: {'; '.join(recipes)}.
"""
    return f"""---
library_name: pytorch
tags: [neural-pizzaiolo, pizza, {", ".join(dict.fromkeys([trained_as, config['family']]))}]
---

# Neural Pizzaiolo: {trained_as} ({hyper.get('preset')} preset, {config.get('image_size')}x{config.get('image_size')})

{what}
Load it with `pizza_models.pipeline.load("<this repo or folder>")`.

## Training
```
{command}
```
{trained}
Hyper-parameters: `{json.dumps(hyper)}`

## Recipe vocabulary ({len(config.get('ingredients', []))} ingredients{'' if is_classifier else f", encoding `{config.get('encoding')}`"})
{vocabulary}

## Metrics
Judged by the project's own ingredient classifier (protocol in `pizza_models/evaluation/evaluate.py`).

{metrics_table}
{samples}"""


def write_model_card(folder: Path, hp, command: str, steps: Optional[int] = None) -> Path:
    """Write README.md into ``folder`` from its config.json, ``hp``, metrics.json (when evaluated) and the step count."""
    config = json.loads((folder / CONFIG_NAME).read_text(encoding="utf-8"))
    metrics_path = folder / METRICS
    metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() else None
    hyper = asdict(hp) if is_dataclass(hp) else dict(hp)
    card = model_card(config, hyper, metrics, grid_recipes(), command, steps)
    atomic_write_bytes(folder / "README.md", card.encode("utf-8"))
    return folder / "README.md"

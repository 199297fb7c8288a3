"""The shipped checkpoints: each complete, float16, evaluated, loadable; all together under 60 MB."""

import json
import shutil
from pathlib import Path

import pytest
import safetensors.torch
import torch

from pizza_models.app.shelf import LABELS
from pizza_models.families.cvae import CVAE
from pizza_models.pipeline import load

CHECKPOINTS = Path(__file__).resolve().parents[1] / "checkpoints"
SHIPPED = {"painted": "layered", "layered": "layered",
           "cvaegan": "cvaegan", "gan": "gan", "cvae": "cvae", "dodo20-cvaegan": "cvaegan", "photo": "cvaegan",
           "judge": "classifier", "judge2": "classifier", "reader": "reader"}


def test_all_shipped_checkpoints_together_stay_under_60_mb():
    total = sum(f.stat().st_size for f in CHECKPOINTS.rglob("*") if f.is_file())
    assert total < 60 * 2**20, f"{total / 2**20:.1f} MB"


PHOTOS_FLAT_SHARE = 0.0031  # the 20 menu photos' own share of flat 3x3 patches (docs/painted)


def test_the_app_default_is_the_photo_painted_model_measured_on_the_real_photos():
    assert next(name for name in LABELS if name in SHIPPED) == "painted"
    measured = json.loads((CHECKPOINTS / "painted" / "metrics.json").read_text())["photo_measures"]
    assert measured["flat"] <= 2 * PHOTOS_FLAT_SHARE  # not clip-art: as few flat patches as the photos, within 2x
    assert measured["rog_auc"] < 0.95  # a CNN does not tell every pizza from a photo
    # The photo judge learns from the painted kitchen of the shipped bank, so each kitchen has its own judge: the one
    # of the bank with red tomatoes and pink ham found 16 singles on the model in which the judge of the bank before
    # found 22; the judge of the kitchen framed as the photos finds 17 and 18 (two seeds) on the model before the
    # shipped one, 16 and 17 on the shipped one (docs/painted).
    assert measured["singles"] >= 16


def test_the_clip_art_layered_model_shows_what_was_ordered():
    metrics = json.loads((CHECKPOINTS / "layered" / "metrics.json").read_text())
    assert metrics["single_ingredient"]["recognised"] >= 26
    assert metrics["held_out_recipes"]["macro_f1"] >= 0.8 and metrics["train_recipes"]["macro_f1"] >= 0.85


@pytest.mark.parametrize("name", list(SHIPPED))
def test_a_shipped_checkpoint_holds_config_weights_grid_and_metrics(name):
    folder = CHECKPOINTS / name
    assert {"config.json", "model.safetensors", "samples.png", "metrics.json", "README.md"} <= {
        f.name for f in folder.iterdir()}
    metrics = json.loads((folder / "metrics.json").read_text())  # written by pizza_models.evaluation.evaluate
    if SHIPPED[name] == "classifier":  # a judge: its own accuracy on fresh renders
        assert 0 < metrics["macro_f1"] <= 1 and len(metrics["per_ingredient"]) == 28
    elif SHIPPED[name] == "reader":  # the photo reader: its recipe guess on photos it did not see (folds)
        held_out = metrics["held_out_photos"]
        assert metrics["folds"] == 5 and 0 < held_out["precision"] <= 1 and 0 < held_out["recall"] <= 1
    else:  # a generator: the protocol's fidelity, its references and the measures fooling cannot buy
        assert {"train_recipes", "held_out_recipes", "single_ingredient", "reference", "cas", "spectral_distance"} <= set(metrics)
    assert not (folder / "training_state.pt").exists()


@pytest.mark.parametrize("name", list(SHIPPED))
def test_a_shipped_checkpoint_is_float16_and_loads_strictly_as_its_family(name):
    weights = safetensors.torch.load_file(CHECKPOINTS / name / "model.safetensors")
    assert {t.dtype for t in weights.values() if t.is_floating_point()} == {torch.float16}
    assert load(CHECKPOINTS / name).family == SHIPPED[name]


def test_the_reproduction_of_the_original_experiment_is_the_articles_model_at_32_px():
    config = json.loads((CHECKPOINTS / "dodo20-cvaegan" / "config.json").read_text())
    assert config["arch"] == "article1" and config["family"] == "cvaegan"  # the article's method 1, as a CVAE-GAN
    assert config["image_size"] == 32 and config["encoding"] == "slot_code"


def test_a_cvaegan_checkpoint_written_before_its_family_had_a_name_loads_as_a_cvae(tmp_path):
    shutil.copytree(CHECKPOINTS / "dodo20-cvaegan", tmp_path, dirs_exist_ok=True)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "family": "cvae", "arch": "seed1"}))
    model = load(tmp_path)
    assert type(model) is CVAE and model.config.arch == "article1" and model.config.training == "cvaegan"


def test_the_two_judges_differ_in_architecture_and_the_first_config_predates_the_option():
    first = json.loads((CHECKPOINTS / "judge" / "config.json").read_text())
    assert "arch" not in first and load(CHECKPOINTS / "judge").config.arch == "vgg"  # old configs load unchanged
    assert load(CHECKPOINTS / "judge2").config.arch == "resnet"

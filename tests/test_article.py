"""The article preset against the article's published set-up: hyper-parameters, the one-pizza DCGAN
data, the CVAE-GAN's four updates in order, the CVAE's 90/10 split with early stopping, and a
fine-tune from a shipped checkpoint. Tiny runs on a two-photo manifest."""

import csv
from pathlib import Path

import pytest
import torch
from PIL import Image

from pizza_models.data import PhotoDataset
from pizza_models.recipe import DEFAULT_VOCABULARY
from train.__main__ import main, make_data, parse_args
from train.common import Batch
from train.cvaegan import cvaegan_sequential_step
from train.loop import EarlyStopping, train_step
from train.registry import build, hyper

TINY = ["--size", "32", "--no-progress"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py: tiny networks run on one thread


@pytest.fixture
def manifest(tmp_path) -> Path:
    """Two photos: an orange pepperoni pizza (row 0) and a white one (row 1)."""
    Image.new("RGB", (24, 24), "orange").save(tmp_path / "a.png")
    Image.new("RGB", (24, 24), "white").save(tmp_path / "b.png")
    path = tmp_path / "recipes.csv"
    path.write_text("image,ingredients\na.png,tomato_sauce;pepperoni;pepperoni;mozzarella\nb.png,mozzarella\n")
    return path


# --------------------------------------------------------------------------- the article's table


def test_article_cvae_is_keras_adam_batch_32_with_a_90_10_split_and_patience_3():
    hp = hyper("cvae", "article")
    assert (hp.batch_size, hp.lr, hp.betas) == (32, 1e-3, (0.9, 0.999))
    assert (hp.val_fraction, hp.patience) == (0.1, 3)
    assert hp.reconstruction == "signed_bce" and hp.image_size == 32


def test_article_dcgan_is_batch_16_with_adam_1e3_for_g_and_1e4_for_d():
    hp = hyper("gan", "article")
    assert (hp.batch_size, hp.lr, hp.lr_d, hp.betas, hp.loss) == (16, 1e-3, 1e-4, (0.9, 0.999), "bce")


def test_article_dcgan_draws_512_uniform_noise():
    g = build(hyper("gan", "article"), DEFAULT_VOCABULARY).nets["G"]
    z = g.sample_latent(2000, generator=torch.Generator().manual_seed(0))
    assert z.shape == (2000, 512) and z.min() >= -1 and z.max() <= 1 and abs(z.mean()) < 0.01


def test_article_cvaegan_is_batch_20_adam_1e3_for_all_four_networks_in_the_articles_order():
    hp = hyper("cvaegan", "article")
    assert (hp.batch_size, hp.lr, hp.lr_d, hp.betas, hp.update_order) == (20, 1e-3, 1e-3, (0.9, 0.999), "sequential")
    setup = build(hp, DEFAULT_VOCABULARY)
    assert list(setup.optimizers) == ["encoder", "decoder", "D", "C"]
    assert all(o.param_groups[0]["lr"] == 1e-3 for o in setup.optimizers.values())
    assert setup.step is cvaegan_sequential_step


def test_sequential_cvaegan_step_moves_each_network(monkeypatch):
    hp = hyper("cvaegan", "article", image_size=32, batch_size=2)
    setup = build(hp, DEFAULT_VOCABULARY)
    before = {name: [p.detach().clone() for p in net.parameters()] for name, net in
              [("encoder", setup.nets["vae"].encoder), ("decoder", setup.nets["vae"].decoder),
               ("C", setup.nets["C"]), ("D", setup.nets["D"])]}
    order = []
    for name, optimizer in setup.optimizers.items():
        monkeypatch.setattr(optimizer, "step", lambda *a, _step=optimizer.step, _name=name, **k: (order.append(_name), _step())[1])
    code = torch.zeros(2, setup.nets["vae"].config.cond_dim)
    stats = train_step(setup, setup.modules(), Batch(torch.rand(2, 3, 32, 32) * 2 - 1, code), hp, torch.device("cpu"))
    assert order == ["encoder", "decoder", "C", "D"]
    assert {"encoder_loss", "decoder_loss", "c_loss", "d_loss"} <= set(stats)
    after = {"encoder": setup.nets["vae"].encoder, "decoder": setup.nets["vae"].decoder, "C": setup.nets["C"], "D": setup.nets["D"]}
    for name, net in after.items():
        assert any(not torch.equal(a, b) for a, b in zip(before[name], net.parameters())), name


# --------------------------------------------------------------------------- one pizza


def test_menu_pizza_keeps_one_photo_in_all_its_views(manifest):
    args = parse_args(["gan", "--preset", "article", "--data", str(manifest), "--menu-pizza", "0", "--views", "720"])
    data = make_data(args, 32, "slot_code", DEFAULT_VOCABULARY)
    assert len(data) == 720
    assert PhotoDataset(manifest, 32, only=1).recipes[0].ingredients == ("mozzarella",)


def test_a_menu_pizza_past_the_manifest_is_refused(manifest, tmp_path):
    with pytest.raises(SystemExit, match="photo 5 does not exist: the manifest has 2"):
        main([*TINY, "gan", "--preset", "article", "--data", str(manifest), "--menu-pizza", "5", "--steps", "1",
              "--out", str(tmp_path / "run")])


def test_menu_pizza_needs_a_manifest(tmp_path):
    with pytest.raises(SystemExit, match="--menu-pizza picks a photo of a manifest"):
        main([*TINY, "gan", "--menu-pizza", "0", "--steps", "1", "--out", str(tmp_path / "run")])


def test_the_article_dcgan_trains_on_one_pizza(manifest, tmp_path):
    assert main([*TINY, "gan", "--preset", "article", "--data", str(manifest), "--menu-pizza", "0", "--views", "4",
                 "--batch-size", "2", "--steps", "2", "--out", str(tmp_path / "run")]) == 0


# --------------------------------------------------------------------------- validation


def test_early_stopping_waits_patience_epochs_without_a_new_best():
    watch = EarlyStopping(patience=2)
    assert [watch.update(v) for v in (3.0, 2.0, 2.5, 2.1, 1.0)] == [False, False, False, True, False]
    assert not any(EarlyStopping(patience=0).update(v) for v in (1.0, 2.0, 3.0))


def test_article_cvae_logs_train_and_validation_loss_per_epoch_in_the_articles_units(manifest, tmp_path):
    out = tmp_path / "run"
    assert main([*TINY, "cvae", "--preset", "article", "--data", str(manifest), "--views", "20",
                 "--epochs", "2", "--batch-size", "4", "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "validation.csv")))
    assert [r["epoch"] for r in rows] == ["1", "2"] and [r["step"] for r in rows] == ["9", "18"]  # 36 of 40 views train
    for row in rows:  # the article's figure: the summed loss over 2 * 3 * H * W
        assert float(row["val_article_loss"]) == pytest.approx(float(row["val_loss"]) / (2 * 3 * 32 * 32), rel=1e-4)


def test_validation_loss_stops_a_run_that_stopped_improving(manifest, tmp_path, monkeypatch):
    from train import loop
    scores = iter([1.0, 2.0, 3.0, 4.0, 5.0])
    monkeypatch.setattr(loop, "validate", lambda *a: {"loss": next(scores)})
    out = tmp_path / "run"
    assert main([*TINY, "cvae", "--preset", "article", "--data", str(manifest), "--views", "20", "--epochs", "5",
                 "--batch-size", "4", "--patience", "2", "--out", str(out)]) == 0
    assert len(list(csv.DictReader(open(out / "validation.csv")))) == 3  # best at epoch 1, two worse: stop
    assert int(torch.load(out / "training_state.pt", weights_only=True)["step"]) == 27


# --------------------------------------------------------------------------- fine-tuning


def test_init_starts_a_run_from_a_checkpoints_weights(manifest, tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    args = [*TINY, "cvae", "--channels", "8", "--data", str(manifest), "--views", "4", "--batch-size", "2"]
    assert main([*args, "--steps", "1", "--out", str(first)]) == 0
    assert main([*args, "--steps", "1", "--lr", "1e-12", "--init", str(first), "--out", str(second)]) == 0
    a = torch.load(first / "training_state.pt", weights_only=True)["nets"]["vae"]
    b = torch.load(second / "training_state.pt", weights_only=True)["nets"]["vae"]
    weights = [k for k in a if not k.endswith(("running_mean", "running_var", "num_batches_tracked"))]  # BN moves these
    assert weights and all(torch.allclose(a[k], b[k], atol=1e-6) for k in weights)


def test_init_from_another_shape_is_refused(manifest, tmp_path):
    first = tmp_path / "first"
    assert main([*TINY, "cvae", "--channels", "8", "--data", str(manifest), "--views", "4", "--batch-size", "2",
                 "--steps", "1", "--out", str(first)]) == 0
    with pytest.raises(SystemExit, match="do not fit this run's networks"):
        main([*TINY, "cvae", "--channels", "16", "--data", str(manifest), "--views", "4", "--batch-size", "2",
              "--steps", "1", "--init", str(first), "--out", str(tmp_path / "second")])

"""``python -m train``: every family and preset trains, checkpoints load back, runs resume after a
checkpoint, a kill or Ctrl-C, a diverging run keeps its last good checkpoint, bad input gets a clear
message, and two DDP processes train one model.

Runs are tiny (32 px, 8 channels, 32 kitchen pizzas, batch 4). Most call ``main`` in-process; the
signal and DDP tests run the CLI in a subprocess.
"""

import csv
import importlib
import importlib.util
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import safetensors.torch
import torch
from PIL import Image

from pizza_models.families.classifier import IngredientClassifier
from pizza_models.families.gan import Generator
from pizza_models.hub import atomic_torch_save, save_checkpoint
from pizza_models.pipeline import generate, load
from pizza_models.recipe import DEFAULT_VOCABULARY
from train.__main__ import build_parser, main, make_data, parse_args, run_hyper
from train.layered import training_kitchen
from scripts.crusts import main as crusts_main
from train.checkpoints import STATE
from train.registry import hyper, trainers

cli = importlib.import_module("train.__main__")  # the module, for monkeypatching make_data

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--size", "32", "--channels", "8", "--kitchen-pizzas", "32", "--batch-size", "4", "--no-progress"]


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/conftest.py: tiny networks run on one thread


def train(out: Path, *args: str) -> int:
    """``python -m train ARGS --out OUT`` in this process, tiny unless ARGS say otherwise."""
    return main([*TINY, *args, "--out", str(out)])


def logged_steps(run: Path) -> list[int]:
    with open(run / "losses.csv", newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f)]


def saved_step(run: Path) -> int:
    return int(torch.load(run / STATE, weights_only=True)["step"])


def child_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def start(*args: str) -> subprocess.Popen:
    """``python -m train ARGS`` in a subprocess (tiny), for the tests that signal it."""
    return subprocess.Popen([sys.executable, "-m", "train", *TINY, *args], cwd=ROOT, env=child_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_until(condition, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, f"the run ended early: {process.communicate()}"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def rows_written(run: Path) -> int:
    """Lines of losses.csv after the header (safe to call while the file is being appended to)."""
    path = run / "losses.csv"
    return max(0, path.read_text().count("\n") - 1) if path.exists() else 0


# --------------------------------------------------------------------------- every family and preset

RUNS = {
    "cvae-article-method1": ["cvae", "--preset", "article", "--method", "1"],
    "cvae-article-method2": ["cvae", "--preset", "article", "--method", "2"],
    "cvae-modern": ["cvae", "--preset", "modern"],
    "gan-article": ["gan", "--preset", "article"],
    "gan-modern": ["gan", "--preset", "modern"],
    "cvaegan-article": ["cvaegan", "--preset", "article"],
    "cvaegan-modern": ["cvaegan", "--preset", "modern"],
    "classifier-article": ["classifier", "--preset", "article"],
    "classifier-modern": ["classifier", "--preset", "modern"],
    "layered-modern": ["layered", "--preset", "modern"],
}


@pytest.mark.parametrize("args", RUNS.values(), ids=RUNS.keys())
def test_one_step_writes_config_weights_losses_and_samples(args, tmp_path):
    assert train(tmp_path, *args, "--steps", "1") == 0
    assert (tmp_path / "config.json").is_file() and (tmp_path / "model.safetensors").is_file()
    assert logged_steps(tmp_path) == [1]
    assert (tmp_path / "losses.csv").read_text().count("\n") == 2  # header + one row
    assert (tmp_path / "samples.png").is_file() == (args[0] != "classifier")


def test_modern_cvaegan_trains_at_64_pixels(tmp_path):
    assert train(tmp_path, "cvaegan", "--steps", "1", "--size", "64") == 0
    assert json.loads((tmp_path / "config.json").read_text())["image_size"] == 64
    assert Image.open(tmp_path / "samples.png").size[0] > 8 * 64  # 8 columns of 64 px and padding


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit) as exit:
        main(["--help"])
    assert exit.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    options = [a for a in build_parser()._actions if a.option_strings and a.dest != "help"]
    assert len(options) > 20
    for action in options:
        assert action.help, f"{action.option_strings} has no help text"
        assert all(option in text for option in action.option_strings)
        assert " ".join(action.help.split()) in text


# --------------------------------------------------------------------------- checkpoints


def test_classifier_checkpoint_loads_back_and_scores_every_ingredient(tmp_path):
    assert train(tmp_path, "classifier", "--steps", "1") == 0
    model = IngredientClassifier.from_pretrained(tmp_path)
    with torch.no_grad():
        logits = model(torch.zeros(2, 3, 32, 32))
    assert logits.shape == (2, len(DEFAULT_VOCABULARY.ids))


# --------------------------------------------------------------------------- resume


def test_resume_continues_the_step_count_and_the_optimizers(tmp_path):
    assert train(tmp_path, "gan", "--steps", "4", "--save-every", "2") == 0
    assert train(tmp_path, "gan", "--steps", "6", "--resume") == 0
    assert logged_steps(tmp_path) == [1, 2, 3, 4, 5, 6]
    state = torch.load(tmp_path / STATE, weights_only=True)
    assert state["step"] == 6
    for optimizer in state["optimizers"].values():
        assert {float(p["step"]) for p in optimizer["state"].values()} == {6.0}  # Adam counted every step


def test_resume_takes_the_learning_rate_of_the_command_line(tmp_path):
    assert train(tmp_path, "gan", "--steps", "1") == 0
    assert train(tmp_path, "gan", "--steps", "2", "--resume", "--lr", "1e-5", "--lr-d", "2e-5") == 0
    optimizers = torch.load(tmp_path / STATE, weights_only=True)["optimizers"]
    assert optimizers["G"]["param_groups"][0]["lr"] == 1e-5 and optimizers["D"]["param_groups"][0]["lr"] == 2e-5


def test_resume_keeps_the_settings_the_run_was_started_with(tmp_path):
    assert train(tmp_path, "gan", "--steps", "1", "--lr", "3e-4") == 0
    assert train(tmp_path, "gan", "--steps", "2", "--resume") == 0
    optimizers = torch.load(tmp_path / STATE, weights_only=True)["optimizers"]
    assert optimizers["G"]["param_groups"][0]["lr"] == 3e-4


def test_a_time_budget_ends_the_run_with_its_final_artifacts(tmp_path):
    assert train(tmp_path, "gan", "--steps", "1000", "--max-minutes", "1e-6") == 0
    assert logged_steps(tmp_path) == [1]
    assert saved_step(tmp_path) == 1
    assert (tmp_path / "progress.gif").exists() and (tmp_path / "losses.png").exists()


def test_half_stores_float16_weights_that_load_into_float32(tmp_path):
    assert train(tmp_path, "gan", "--steps", "1", "--half") == 0
    weights = safetensors.torch.load_file(tmp_path / "model.safetensors")
    assert {t.dtype for t in weights.values() if t.is_floating_point()} == {torch.float16}
    assert next(Generator.from_pretrained(tmp_path).parameters()).dtype == torch.float32


def test_keep_every_keeps_the_weights_of_each_multiple_and_they_load(tmp_path):
    assert train(tmp_path, "gan", "--steps", "5", "--save-every", "3", "--keep-every", "2") == 0
    kept = sorted(p.name for p in (tmp_path / "weights").iterdir())
    assert kept == ["step_000002", "step_000004"]  # saved for keeping, though not multiples of 3; not step 3 or 5
    early, last = Generator.from_pretrained(tmp_path / "weights" / "step_000002"), Generator.from_pretrained(tmp_path)
    assert any(not torch.equal(a, b) for a, b in zip(early.state_dict().values(), last.state_dict().values()))


def test_without_keep_every_a_save_replaces_the_last(tmp_path):
    assert train(tmp_path, "gan", "--steps", "2", "--save-every", "1") == 0
    assert not (tmp_path / "weights").exists()


def test_resume_logs_a_term_the_run_before_did_not_in_a_new_column(tmp_path):
    assert train(tmp_path, "gan", "--steps", "1") == 0
    assert train(tmp_path, "gan", "--steps", "2", "--resume", "--mode-seeking", "1") == 0
    with open(tmp_path / "losses.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["step"] for r in rows] == ["1", "2"]
    assert rows[0]["mode_seeking"] == "" and float(rows[1]["mode_seeking"]) > 0


def test_resume_with_another_architecture_is_refused_with_the_difference(tmp_path):
    assert train(tmp_path, "gan", "--steps", "1") == 0
    with pytest.raises(SystemExit) as exit:
        train(tmp_path, "gan", "--steps", "2", "--resume", "--channels", "16")
    assert "holds another model (channels 8 -> 16)" in str(exit.value.code)


def test_a_new_run_refuses_a_folder_that_holds_a_run(tmp_path):
    assert train(tmp_path, "gan", "--steps", "1") == 0
    before = (tmp_path / "model.safetensors").read_bytes()
    with pytest.raises(SystemExit) as exit:
        train(tmp_path, "gan", "--steps", "1")
    assert "already holds a run" in str(exit.value.code) and "--resume" in str(exit.value.code)
    assert (tmp_path / "model.safetensors").read_bytes() == before


@pytest.mark.e2e
def test_resume_after_sigkill_drops_the_rows_logged_after_the_checkpoint(tmp_path):
    run = tmp_path / "run"
    process = start("gan", "--steps", "100000", "--save-every", "2", "--sample-every", "100000", "--out", str(run))
    try:
        # Past the first checkpoint and mid-way between two: some logged rows are not in the state yet.
        wait_until(lambda: (run / STATE).exists() and rows_written(run) >= 3, process)
    finally:
        process.kill()
        process.communicate()
    checkpoint, logged = saved_step(run), rows_written(run)
    assert checkpoint >= 2 and logged >= checkpoint
    assert train(run, "gan", "--steps", str(logged + 2), "--resume") == 0
    assert logged_steps(run) == list(range(1, logged + 3))
    Generator.from_pretrained(run)


@pytest.mark.e2e
def test_sigint_saves_exits_130_and_resume_continues(tmp_path):
    run = tmp_path / "run"
    process = start("gan", "--steps", "100000", "--save-every", "100000", "--sample-every", "100000", "--out", str(run))
    try:
        wait_until(lambda: rows_written(run) >= 2, process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted: saved step" in stdout and "Traceback" not in stderr
    step = saved_step(run)
    assert logged_steps(run) == list(range(1, step + 1))  # the step that saw Ctrl-C is logged and saved
    Generator.from_pretrained(run)
    assert train(run, "gan", "--steps", str(step + 2), "--resume") == 0
    assert logged_steps(run) == list(range(1, step + 3))


# In a child process: start a save that hangs half-way (after printing "hanging"), to be SIGKILLed.
HANG_IN_SAVE = """
import os, sys, time
import safetensors.torch, torch
from pizza_models.families.gan import GANConfig, Generator
from pizza_models.hub import atomic_torch_save, save_checkpoint

folder, where = sys.argv[1], sys.argv[2]

def half_written_then_hang(save):
    def patched(obj, path, *args, **kwargs):
        save(obj, path, *args, **kwargs)
        os.truncate(path, os.path.getsize(path) // 2)
        print("hanging", flush=True)
        time.sleep(600)
    return patched

safetensors.torch.save_model = half_written_then_hang(safetensors.torch.save_model)
torch.save = half_written_then_hang(torch.save)
torch.manual_seed(1)  # other weights than the previous checkpoint's
model = Generator(GANConfig.modern(32, g_channels=8, d_channels=8))
if where == "weights":
    save_checkpoint(model, folder)
else:
    atomic_torch_save({"step": 4, "weights": model.state_dict()}, os.path.join(folder, "training_state.pt"))
"""


@pytest.mark.e2e
@pytest.mark.parametrize("where", ["weights", "state"])
def test_sigkill_mid_save_leaves_the_previous_checkpoint_whole(where, tmp_path):
    from pizza_models.families.gan import GANConfig

    torch.manual_seed(0)
    model = Generator(GANConfig.modern(32, g_channels=8, d_channels=8))
    save_checkpoint(model, tmp_path)
    atomic_torch_save({"step": 2, "weights": model.state_dict()}, tmp_path / STATE)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    process = subprocess.Popen([sys.executable, "-c", HANG_IN_SAVE, str(tmp_path), where], cwd=ROOT,
                               env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "hanging", process.communicate()
    finally:
        process.kill()
        process.communicate()

    assert {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.name in before} == before
    loaded = Generator.from_pretrained(tmp_path)
    assert all(torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))
    assert saved_step(tmp_path) == 2


# --------------------------------------------------------------------------- divergence


class Poisoned(torch.utils.data.Dataset):
    """A data set whose images are all NaN: the next step's losses are not finite."""

    def __init__(self, data):
        self.data = data

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        x, code = self.data[i]
        return torch.full_like(x, float("nan")), code


def test_a_nan_loss_stops_with_exit_1_and_keeps_the_last_checkpoint(tmp_path, monkeypatch, capsys):
    assert train(tmp_path, "gan", "--steps", "2") == 0
    before = {name: (tmp_path / name).read_bytes() for name in ("model.safetensors", "config.json", STATE)}
    monkeypatch.setattr(cli, "make_data", lambda *args: Poisoned(make_data(*args)))
    assert train(tmp_path, "gan", "--steps", "4", "--resume") == 1
    error = capsys.readouterr().err
    assert "step 3: a loss is not finite" in error and "d_loss" in error and "(step 2)" in error
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    Generator.from_pretrained(tmp_path)
    assert logged_steps(tmp_path) == [1, 2]


def test_a_run_diverging_before_its_first_save_says_no_checkpoint_exists(tmp_path, capsys):
    assert train(tmp_path, "gan", "--steps", "3", "--lr", "1e30", "--lr-d", "1e30") == 1
    error = capsys.readouterr().err
    assert "not finite" in error and "No checkpoint was saved yet" in error


# --------------------------------------------------------------------------- photos


def test_dodo20_manifest_with_720_views_gives_14400_examples(dodo20):
    args = parse_args(["cvae", "--preset", "article", "--data", str(dodo20 / "recipes.csv"), "--views", "720"])
    assert len(make_data(args, 32, "counts", DEFAULT_VOCABULARY)) == 14_400


def test_article_cvae_trains_on_dodo20(dodo20, tmp_path):
    assert train(tmp_path, "cvae", "--preset", "article", "--method", "2", "--data", str(dodo20 / "recipes.csv"),
                 "--views", "720", "--steps", "1") == 0
    assert logged_steps(tmp_path) == [1]


@pytest.mark.e2e
def test_a_broken_manifest_is_refused_with_every_bad_row(tmp_path):
    Image.new("RGB", (40, 40), "orange").save(tmp_path / "good.png")
    (tmp_path / "notes.png").write_text("not an image")
    manifest = tmp_path / "recipes.csv"
    manifest.write_text("image,ingredients\n"
                        "good.png,tomato_sauce;mozzarella\n"
                        "missing.png,tomato_sauce\n"
                        "good.png,tomato_sauce;unicorn\n"
                        "notes.png,mozzarella\n")
    with pytest.raises(SystemExit) as exit:
        train(tmp_path / "run", "cvae", "--data", str(manifest), "--steps", "1")
    message = str(exit.value.code)
    assert message.startswith(f"--data {manifest}")
    assert all(f"row {row}" in message for row in (3, 4, 5)) and "row 2" not in message
    assert "missing.png" in message and "unicorn" in message and "notes.png" in message
    assert not (tmp_path / "run").exists()


# --------------------------------------------------------------------------- DistributedDataParallel


def torchrun(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "train",
         *TINY, *args], cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=300,
    )


@pytest.mark.e2e
def test_ddp_two_ranks_train_one_model_in_sync(tmp_path):
    run = tmp_path / "run"
    result = torchrun("gan", "--steps", "3", "--out", str(run))
    assert result.returncode == 0, result.stderr
    assert json.loads((run / "ddp.json").read_text()) == {"world_size": 2, "ranks_in_sync": True, "step": 3}
    assert list(tmp_path.rglob("config.json")) == [run / "config.json"]  # one checkpoint, by rank 0
    assert (run / "model.safetensors").is_file() and not list(run.glob(".*"))
    assert logged_steps(run) == [1, 2, 3]  # rank 0 alone logs
    Generator.from_pretrained(run)


@pytest.mark.e2e
def test_ddp_trains_the_modern_cvaegan(tmp_path):
    result = torchrun("cvaegan", "--steps", "2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "ddp.json").read_text())["ranks_in_sync"] is True
    assert logged_steps(tmp_path) == [1, 2]


def test_ema_follows_the_weights_early_in_a_run():
    from torch.optim.swa_utils import AveragedModel

    from train.common import ema_with_warmup

    model = torch.nn.Linear(2, 2)
    torch.nn.init.zeros_(model.weight)
    ema = AveragedModel(model, multi_avg_fn=ema_with_warmup(0.999), use_buffers=True)
    ema.update_parameters(model)  # the first update copies
    torch.nn.init.ones_(model.weight)
    for _ in range(10):
        ema.update_parameters(model)
    assert ema.module.weight.min() > 0.5  # a fixed 0.999 decay would still be near 0.01


def ship_script():
    spec = importlib.util.spec_from_file_location("ship", ROOT / "scripts" / "ship.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script.ship


def test_ship_copies_a_run_as_float16_with_card_and_without_training_state(tmp_path):
    ship = ship_script()
    run, shipped = tmp_path / "run", tmp_path / "shipped"
    assert train(run, "gan", "--steps", "1") == 0
    ship(run, shipped, "python -m train gan --steps 1")
    assert not (shipped / STATE).exists()
    weights = safetensors.torch.load_file(shipped / "model.safetensors")
    assert {t.dtype for t in weights.values() if t.is_floating_point()} == {torch.float16}
    assert "python -m train gan --steps 1" in (shipped / "README.md").read_text()
    assert "Steps trained: 1." in (shipped / "README.md").read_text()
    assert (shipped / "samples.png").exists()


def test_ship_takes_a_run_without_its_training_state_from_its_card_and_losses(tmp_path):
    run, shipped = tmp_path / "run", tmp_path / "shipped"
    assert train(run, "gan", "--steps", "2") == 0
    (run / STATE).unlink()  # left on the machine that trained it
    ship_script()(run, shipped, "python -m train gan --steps 2")
    card = (shipped / "README.md").read_text()
    assert "Steps trained: 2." in card and '"family": "gan"' in card


def test_ship_records_the_runs_measures_on_the_photos_in_its_metrics_and_card(tmp_path):
    run, shipped, measured = tmp_path / "run", tmp_path / "shipped", tmp_path / "measured.json"
    assert train(run, "gan", "--steps", "1") == 0
    row = {"flat": 0.006, "rog_auc": 0.9, "singles": 22}
    measured.write_text(json.dumps({"rows": {"run": row}, "judge_on_photos": {"macro_f1": 0.33}}))
    ship_script()(run, shipped, "python -m train gan --steps 1", photo_measures=measured)
    metrics = json.loads((shipped / "metrics.json").read_text())
    assert metrics["photo_measures"] == {**row, "judge_on_photos_macro_f1": 0.33}
    assert "photo_measures.rog_auc" in (shipped / "README.md").read_text()


@pytest.mark.parametrize("steps", ["0", "-3"])
def test_zero_or_negative_steps_are_refused(steps, capsys):
    with pytest.raises(SystemExit):
        parse_args(["gan", "--steps", steps])
    assert "must be at least 1" in capsys.readouterr().err


def test_seed_is_the_article_presets_old_name():
    assert hyper("gan", "seed") == hyper("gan", "article")
    assert hyper("gan", "article").networks == "article" and hyper("gan", "article").image_size == 32


def test_presets_are_bundles_of_values_the_steps_read():
    article, modern = hyper("cvaegan", "article"), hyper("cvaegan", "modern")
    assert (article.loss, modern.loss) == ("bce", "hinge")
    assert hyper("cvae", "article").reconstruction == "signed_bce" and hyper("cvae", "modern").reconstruction == "l2"
    assert all(isinstance(values, dict) for trainer in trainers().values() for values in trainer.presets.values())


def test_a_run_says_where_it_saves_at_start_and_end(tmp_path, capsys):
    assert train(tmp_path, "gan", "--steps", "1") == 0
    out = capsys.readouterr().out
    assert f"into {tmp_path}" in out and f"finished: saved step 1 in {tmp_path}" in out
    # ...and ends with the command that serves it in the app, beside the shipped models.
    command = next(line for line in out.splitlines() if line.startswith("open it in the app: "))
    words = shlex.split(command.removeprefix("open it in the app: ").split("  (")[0])
    assert words[:2] == ["python", "app.py"], command
    from app import CHECKPOINTS, parse_args as app_args
    from pizza_models.pipeline import load_shelves
    shelf = load_shelves([CHECKPOINTS, *app_args(words[2:]).checkpoints])
    assert tmp_path.name in shelf and "layered" in shelf and f"listed as {tmp_path.name!r}" in command


def test_every_run_file_is_readable_by_all_and_the_card_names_the_training_family(tmp_path):
    assert train(tmp_path, "cvaegan", "--steps", "1", "--half") == 0
    modes = {f.name: f.stat().st_mode & 0o777 for f in tmp_path.iterdir() if f.is_file()}
    assert modes["model.safetensors"] == modes["config.json"] == 0o644, modes
    assert "# Neural Pizzaiolo: cvaegan" in (tmp_path / "README.md").read_text()


def test_coverage_paints_the_kitchen_as_densely_as_asked():
    def kitchen(*argv):
        hp, _ = run_hyper(parse_args(["layered", "--kitchen", "painted", *argv]))
        return training_kitchen(hp, DEFAULT_VOCABULARY)

    assert kitchen("--coverage", "0.4", "0.7").coverage == (0.4, 0.7)
    assert kitchen().coverage is None  # the clip-art kitchen's counts


def test_init_grows_new_base_blocks_fresh_and_keeps_every_other_weight(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    assert train(first, "layered", "--steps", "1") == 0
    assert train(second, "layered", "--steps", "1", "--lr", "1e-12", "--init", str(first), "--base-blocks", "2") == 0
    assert "parts it lacks start fresh: base.reach.0, base.reach.1\n" in capsys.readouterr().err
    a = torch.load(first / STATE, weights_only=True)["nets"]["model"]
    b = torch.load(second / STATE, weights_only=True)["nets"]["model"]
    assert set(b) - set(a) and all(k.startswith("base.reach.") for k in set(b) - set(a))
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a)


def test_init_from_another_size_resizes_the_pictures_and_keeps_every_other_weight(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    assert train(first, "layered", "--steps", "1", "--size", "64") == 0
    assert train(second, "layered", "--steps", "1", "--lr", "1e-12", "--init", str(first), "--size", "96") == 0
    assert "pictures resized to this run's size: sprites, templates\n" in capsys.readouterr().err
    a = torch.load(first / STATE, weights_only=True)["nets"]["model"]
    b = torch.load(second / STATE, weights_only=True)["nets"]["model"]
    assert a["sprites"].shape[-2:] == (16, 16) and b["sprites"].shape[-2:] == (24, 24)
    assert a["templates"].shape[-2:] == (64, 64) and b["templates"].shape[-2:] == (96, 96)
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a if k not in ("sprites", "templates"))


def test_init_from_a_model_with_crusts_trains_without_them_and_keeps_every_other_weight(tmp_path, capsys):
    first, crusted, second = tmp_path / "first", tmp_path / "crusted", tmp_path / "second"
    assert train(first, "layered", "--steps", "1", "--size", "64") == 0
    crusts_main([str(first), str(crusted)])  # the photo bank's crusts laid on (scripts/crusts.py)
    assert train(second, "layered", "--steps", "1", "--lr", "1e-12", "--size", "64", "--init", str(crusted)) == 0
    assert "tables this run does not draw with are left out: crust.pictures, crust.radius\n" in capsys.readouterr().err
    a = torch.load(first / STATE, weights_only=True)["nets"]["model"]
    b = torch.load(second / STATE, weights_only=True)["nets"]["model"]
    assert set(a) == set(b) and all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a)


def test_init_fresh_starts_the_named_weights_afresh_and_keeps_every_other(tmp_path, capsys):
    first, second, fresh = tmp_path / "first", tmp_path / "second", tmp_path / "fresh"
    assert train(first, "layered", "--steps", "1", "--lr", "0.01") == 0  # a large step: trained sprites differ from fresh ones
    assert train(second, "layered", "--steps", "1", "--lr", "1e-12", "--init", str(first), "--init-fresh", "sprites") == 0
    assert "parts it lacks start fresh: sprites\n" in capsys.readouterr().err
    assert train(fresh, "layered", "--steps", "1", "--lr", "1e-12") == 0
    a, b, c = (torch.load(run / STATE, weights_only=True)["nets"]["model"] for run in (first, second, fresh))
    assert torch.allclose(b["sprites"].float(), c["sprites"].float(), atol=1e-5)
    assert not torch.allclose(a["sprites"].float(), b["sprites"].float(), atol=1e-2)
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a if k != "sprites")


def test_init_fresh_refuses_a_name_the_checkpoint_lacks_and_a_run_without_init(tmp_path):
    assert train(tmp_path / "first", "layered", "--steps", "1") == 0
    with pytest.raises(SystemExit, match="--init-fresh spritez: no such weights"):
        train(tmp_path / "second", "layered", "--steps", "1", "--init", str(tmp_path / "first"), "--init-fresh", "spritez")
    with pytest.raises(SystemExit, match="pass --init too"):
        train(tmp_path / "third", "layered", "--steps", "1", "--init-fresh", "sprites")


def test_train_only_trains_the_named_weights_and_keeps_every_other(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert train(first, "layered", "--steps", "1") == 0
    assert train(second, "layered", "--steps", "2", "--lr", "0.01", "--init", str(first), "--train-only", "sprites") == 0
    a, b = (torch.load(run / STATE, weights_only=True)["nets"]["model"] for run in (first, second))
    assert not torch.allclose(a["sprites"].float(), b["sprites"].float(), atol=1e-3)
    assert all(torch.equal(a[k], b[k]) for k in a if k != "sprites")


def test_freeze_keeps_the_named_weights_as_init_gives_them_and_trains_every_other(tmp_path):
    first, second = tmp_path / "first", tmp_path / "second"
    assert train(first, "layered", "--steps", "1", "--base-blocks", "1", "--base-reach", "pooled") == 0
    assert train(second, "layered", "--steps", "2", "--lr", "0.01", "--base-blocks", "1", "--base-reach", "pooled", "--init", str(first),
                 "--init-fresh", "base.reach.0.noise_gain", "--freeze", "base.reach.0.noise_gain") == 0
    a, b = (torch.load(run / STATE, weights_only=True)["nets"]["model"] for run in (first, second))
    assert torch.equal(b["base.reach.0.noise_gain"], torch.zeros_like(b["base.reach.0.noise_gain"]))  # fresh, and kept so
    assert not torch.allclose(a["sprites"].float(), b["sprites"].float(), atol=1e-3)


def test_freeze_refuses_a_name_no_network_has(tmp_path):
    with pytest.raises(SystemExit, match="--freeze spritez: no such weights"):
        train(tmp_path, "layered", "--steps", "1", "--freeze", "spritez")


def test_train_only_refuses_a_name_no_network_has(tmp_path):
    with pytest.raises(SystemExit, match="--train-only spritez: no such weights"):
        train(tmp_path, "layered", "--steps", "1", "--train-only", "spritez")


def test_a_96_px_layered_model_reads_its_base_on_12_x_12_cells(tmp_path):
    assert train(tmp_path, "layered", "--steps", "1", "--size", "96") == 0
    config = json.loads((tmp_path / "config.json").read_text())
    assert (config["image_size"], config["base_latent_side"], config["reach_cell"]) == (96, 12, 3)
    assert generate(load(tmp_path), ["pepperoni"], seed=1)[0].size == (96, 96)


def test_a_base_size_keeps_a_64_px_base_under_a_96_px_pizza(tmp_path, capsys):
    first, second = tmp_path / "first", tmp_path / "second"
    assert train(first, "layered", "--steps", "1", "--size", "64") == 0
    assert train(second, "layered", "--steps", "1", "--lr", "1e-12", "--init", str(first), "--size", "96", "--base-size", "64") == 0
    config = json.loads((second / "config.json").read_text())
    assert (config["image_size"], config["base_size"], config["base_latent_side"], config["reach_cell"]) == (96, 64, 8, 2)
    a = torch.load(first / STATE, weights_only=True)["nets"]["model"]
    b = torch.load(second / STATE, weights_only=True)["nets"]["model"]
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-5) for k in a if k not in ("sprites", "templates"))
    assert generate(load(second), ["pepperoni"], seed=1)[0].size == (96, 96)

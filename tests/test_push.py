"""``--push-to-hub``: a trained checkpoint goes up to a hub with its model card and comes back by hub id,
online and then offline from the cache. The hub is tests/hub_server.py, a small local HTTP server;
huggingface_hub itself is not patched, only pointed at it with HF_ENDPOINT in a subprocess (it reads
its endpoint, token and offline flag once, at import)."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import safetensors.torch
import torch

from hub_server import FakeHub

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--size", "32", "--channels", "8", "--kitchen-pizzas", "32", "--batch-size", "4", "--no-progress"]
REPO = "user/tiny-gan"


def hub_env(endpoint: str, hf_home: Path, **extra: str) -> dict:
    """Environment of a child process talking to ``endpoint``: a dummy token, its own cache, no Xet."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", HF_ENDPOINT=endpoint, HF_TOKEN="hf_dummy",
               HF_HUB_OFFLINE="0", HF_HOME=str(hf_home), HF_HUB_DISABLE_XET="1")  # Xet would bypass plain HTTP
    env.update(extra)
    return env


def python(args: list[str], env: dict, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


LOAD = """
import sys, safetensors.torch
from pizza_models.families.gan import Generator
model = Generator.from_pretrained(sys.argv[1])
safetensors.torch.save_file(model.state_dict(), sys.argv[2])
"""


@pytest.fixture(scope="module")
def pushed(tmp_path_factory):
    """A 2-step modern GAN trained and pushed to a fresh local hub: (hub, run folder, HF_HOME, CLI output)."""
    tmp = tmp_path_factory.mktemp("push")
    hub = FakeHub().start()
    run, hf_home = tmp / "run", tmp / "hf_home"
    result = python(["-m", "train", "gan", "--steps", "2", "--out", str(run), *TINY, "--push-to-hub", REPO],
                    hub_env(hub.url, hf_home))
    assert result.returncode == 0, result.stderr
    yield hub, run, hf_home, result
    hub.stop()


def test_push_reports_the_repo_url(pushed):
    hub, _, _, result = pushed
    assert f"{hub.url}/{REPO}" in result.stdout


def test_push_uploads_config_weights_and_pictures_not_the_training_state(pushed):
    hub, run, _, _ = pushed
    files = hub.repos[REPO]
    assert {"config.json", "model.safetensors", "README.md", "samples.png", "progress.gif", "losses.png",
            "losses.csv"} <= set(files)
    assert files["model.safetensors"] == (run / "model.safetensors").read_bytes()
    assert (run / "training_state.pt").exists() and "training_state.pt" not in files
    assert not [f for f in files if f.startswith(("samples/", "."))]


def test_push_writes_a_model_card_with_vocabulary_preset_and_command(pushed):
    hub, run, _, _ = pushed
    card = hub.repos[REPO]["README.md"].decode()
    assert card == (run / "README.md").read_text()
    config = json.loads(hub.repos[REPO]["config.json"])
    assert all(ingredient in card for ingredient in config["ingredients"])
    assert "modern preset" in card and "32x32" in card
    assert "python -m train gan --steps 2" in card and f"--push-to-hub {REPO}" in card
    assert "Steps trained: 2." in card


def test_pushed_model_loads_by_hub_id_with_the_same_weights(pushed, tmp_path):
    hub, run, hf_home, _ = pushed
    result = python(["-c", LOAD, REPO, str(tmp_path / "loaded.safetensors")], hub_env(hub.url, hf_home))
    assert result.returncode == 0, result.stderr
    assert ("GET", f"/{REPO}/resolve/main/model.safetensors") in hub.requests
    loaded = safetensors.torch.load_file(tmp_path / "loaded.safetensors")
    local = safetensors.torch.load_file(run / "model.safetensors")
    assert loaded.keys() == local.keys() and all(torch.equal(loaded[k], local[k]) for k in local)


def test_pushed_model_loads_offline_from_the_cache(pushed, tmp_path):
    hub, run, hf_home, _ = pushed
    if not (hf_home / "hub" / "models--user--tiny-gan").is_dir():  # the online test fills the cache
        assert python(["-c", LOAD, REPO, str(tmp_path / "warm.safetensors")], hub_env(hub.url, hf_home)).returncode == 0
    requests = len(hub.requests)
    result = python(["-c", LOAD, REPO, str(tmp_path / "offline.safetensors")],
                    hub_env(hub.url, hf_home, HF_HUB_OFFLINE="1"))
    assert result.returncode == 0, result.stderr
    assert len(hub.requests) == requests, "offline loading must not touch the hub"
    local = safetensors.torch.load_file(run / "model.safetensors")
    offline = safetensors.torch.load_file(tmp_path / "offline.safetensors")
    assert all(torch.equal(offline[k], local[k]) for k in local)


def test_push_without_a_token_is_a_one_line_error(tmp_path):
    hub = FakeHub().start()
    try:
        env = hub_env(hub.url, tmp_path / "hf_home")
        del env["HF_TOKEN"]
        result = python(["-m", "train", "gan", "--steps", "1", "--out", str(tmp_path / "run"), *TINY,
                         "--push-to-hub", REPO], env)
    finally:
        hub.stop()
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "no Hugging Face token" in result.stderr and "HF_TOKEN" in result.stderr
    assert REPO not in hub.repos
    assert (tmp_path / "run" / "model.safetensors").is_file(), "the checkpoint stays on disk"


def test_push_to_an_unreachable_hub_is_a_one_line_error(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    result = python(["-m", "train", "gan", "--steps", "1", "--out", str(tmp_path / "run"), *TINY,
                     "--push-to-hub", REPO], hub_env(closed, tmp_path / "hf_home"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"upload to {REPO} on {closed} failed" in errors[0], result.stderr


def test_push_ignores_training_state_per_step_samples_kept_weights_and_save_temporaries():
    from huggingface_hub.utils import filter_repo_objects

    from train.push import IGNORE

    files = ["config.json", "model.safetensors", "README.md", "metrics.json", "samples.png", "progress.gif",
             "losses.png", "losses.csv", "training_state.pt", "samples/step_000200.png",
             "weights/step_000200/model.safetensors", ".saving-abc123/model.safetensors", ".training_state.pt.x1y2z3", ".losses.csv.q9w8e7"]
    kept = list(filter_repo_objects(files, ignore_patterns=IGNORE))
    assert kept == files[:8]

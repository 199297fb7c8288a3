"""Test settings: offline, no analytics, before anything imports huggingface_hub or gradio."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("OMP_NUM_THREADS", "2")

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator, NamedTuple

import gradio_client
import pytest
import torch

DODO20 = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "dodo20"


@pytest.fixture
def dodo20() -> Path:
    """The 20 real photos of the original experiment, read-only beside the project."""
    if not (DODO20 / "recipes.csv").is_file():
        pytest.skip(f"dodo20 photos not found at {DODO20} (they ship beside the project, not in it)")
    return DODO20


@pytest.fixture
def one_thread() -> Iterator[None]:
    """torch on one thread for the test: tiny networks gain nothing from a second, and lose much
    when the cores are busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"  # screenshots and load measurements, kept after the run (git-ignored)


class Server(NamedTuple):
    url: str
    process: subprocess.Popen
    temp_dir: Path  # gradio's cache: uploads and generated pictures
    log: Path  # what app.py printed


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_server(tmp_path_factory) -> Iterator[Server]:
    """``python app.py`` as a user starts it (shipped checkpoints, default host), on a free port."""
    if not (ROOT / "checkpoints" / "cvaegan" / "config.json").is_file():
        pytest.fail("checkpoints/cvaegan is missing: the app serves the shipped checkpoints")
    port, temp_dir = _free_port(), tmp_path_factory.mktemp("gradio")
    log_path = tmp_path_factory.mktemp("app") / "app.log"
    log = open(log_path, "w+")
    env = dict(os.environ, GRADIO_TEMP_DIR=str(temp_dir), OMP_NUM_THREADS="2")
    process = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 180
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            break
        except OSError:
            log.seek(0)
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"app.py did not start (exit {process.poll()}):\n{log.read()[-3000:]}")
            time.sleep(0.5)
    yield Server(url, process, temp_dir, log_path)
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


@pytest.fixture(scope="module")
def client(app_server, tmp_path_factory):
    """A gradio_client on the running app, downloading into a temporary folder."""
    return gradio_client.Client(app_server.url, verbose=False, analytics_enabled=False,
                                download_files=str(tmp_path_factory.mktemp("downloads")))


E2E_MODULES = {"test_browser.py", "test_push.py"}  # a real browser; a hub server
E2E_FIXTURES = {"app_server"}  # the app running as a server


def pytest_collection_modifyitems(items) -> None:
    """Mark the end-to-end tests ``e2e`` (servers, browsers, hub, subprocess training), so that
    ``python -m pytest -m "not e2e"`` is the fast tier."""
    for item in items:
        if item.path.name in E2E_MODULES or E2E_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)

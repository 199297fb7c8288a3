"""Test settings: offline, no analytics, before anything imports huggingface_hub or gradio."""

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("OMP_NUM_THREADS", "2")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

DODO20 = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "dodo20"


@pytest.fixture
def dodo20() -> Path:
    """The 20 real photos of the original experiment, read-only beside the project."""
    if not (DODO20 / "recipes.csv").is_file():
        pytest.skip(f"dodo20 photos not found at {DODO20} (they ship beside the project, not in it)")
    return DODO20

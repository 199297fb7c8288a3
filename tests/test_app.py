"""The app's API through gradio_client, against ``python app.py`` serving the shipped checkpoints."""

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image

from conftest import ARTIFACTS
from pizza_models.kitchen import Kitchen

gradio_client = pytest.importorskip("gradio_client")
PEPPERONI = ["tomato_sauce", "mozzarella", "pepperoni"]


@pytest.fixture(scope="module")
def client(app_server, tmp_path_factory):
    return gradio_client.Client(app_server.url, verbose=False, analytics_enabled=False,
                                download_files=str(tmp_path_factory.mktemp("downloads")))


def generate(client, picked=PEPPERONI, doubled=(), noise=1.0, seed=0, count=4, model="cvaegan"):
    return client.predict(list(picked), list(doubled), noise, seed, count, model, api_name="/generate")


def sizes(gallery) -> list[tuple[int, int]]:
    return [Image.open(item["image"]).size for item in gallery]


def pixels(gallery) -> list[bytes]:
    return [Image.open(item["image"]).tobytes() for item in gallery]


def rss_kib(pid: int, field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of a process, in KiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", status, re.M).group(1))


def test_generate_returns_the_asked_number_of_64px_pizzas(client):
    assert sizes(generate(client, count=3)) == [(64, 64)] * 3


def test_generate_is_reproducible_for_a_seed(client):
    assert pixels(generate(client, seed=11, count=2)) == pixels(generate(client, seed=11, count=2))
    assert pixels(generate(client, seed=11, count=2)) != pixels(generate(client, seed=12, count=2))


@pytest.mark.parametrize("model", ["gan", "cvae", "dodo20-cvaegan"])
def test_every_shipped_generator_draws_at_its_size(client, model):
    size = 32 if model.startswith("dodo20") else 64
    assert sizes(generate(client, model=model, count=2)) == [(size, size)] * 2


def test_unknown_ingredient_is_refused_with_a_suggestion(client):
    with pytest.raises(gradio_client.exceptions.AppError,
                       match="unknown ingredient 'peperoni'; did you mean 'pepperoni'"):
        generate(client, picked=["tomato_sauce", "peperoni"])


def test_more_pizzas_than_the_slider_allows_are_refused_before_any_drawing(client):
    with pytest.raises(gradio_client.exceptions.AppError, match="Value 500 is greater than maximum value 16"):
        generate(client, count=500)


def test_restyle_returns_input_reconstruction_and_result_at_the_model_size(client, tmp_path):
    photo = tmp_path / "pepperoni.jpg"
    Kitchen().render("tomato_sauce; pepperoni; mozzarella", seed=1, size=400).save(photo)
    preview, source, target, upload = client.predict(gradio_client.handle_file(photo), True, api_name="/read_photo")
    assert "pepperoni" in source and source == target and upload is None
    outputs = client.predict(gradio_client.handle_file(preview), True, source, ["tomato_sauce", "mozzarella", "ham"],
                             "cvaegan", 0, 0, api_name="/restyle")
    assert [Image.open(path).size for path in outputs] == [(64, 64)] * 3


def test_menu_draws_one_captioned_pizza_per_ingredient(client):
    gallery = client.predict("cvaegan", 0, 0, api_name="/menu")
    assert len(gallery) == 28 and gallery[0]["caption"] and len({item["caption"] for item in gallery}) == 28


def test_interpolation_gives_the_asked_number_of_steps(client):
    assert sizes(client.predict("Margherita", "Hawaiian", "cvaegan", 0, 6, api_name="/interpolate")) == [(64, 64)] * 6


def test_eight_simultaneous_generate_calls_succeed_with_flat_memory(client, app_server):
    generate(client, count=16)  # warm: the first 16-pizza call allocates what later ones reuse
    before = rss_kib(app_server.process.pid, "VmRSS")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda seed: generate(client, seed=seed, count=16), range(8)))
    peak = rss_kib(app_server.process.pid, "VmHWM")
    assert all(sizes(gallery) == [(64, 64)] * 16 for gallery in results)
    ARTIFACTS.mkdir(exist_ok=True)
    report = {"calls": 8, "pizzas_per_call": 16, "rss_before_mib": before / 1024, "peak_rss_mib": peak / 1024}
    (ARTIFACTS / "load.json").write_text(json.dumps(report, indent=2))
    # The queue runs one model call at a time: eight waiting requests cost no more than one.
    assert peak - before < 300 * 1024, report

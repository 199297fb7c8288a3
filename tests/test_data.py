"""Data sets: manifests (real and broken), image loading, the 720-view augmentation, kitchen data."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from PIL import Image

from pizza_models.data import (
    KitchenDataset,
    KitchenStream,
    ManifestError,
    PhotoDataset,
    Rotations,
    load_image,
    rotate_view,
    to_tensor,
    view_params,
)
from pizza_models.recipe import encoding_size, from_slot_code


def _photo(path, colour=(200, 120, 60), size=(40, 40), mode="RGB"):
    Image.new(mode, size, colour).save(path)
    return path


# --------------------------------------------------------------------------- dodo20


def test_dodo20_manifest_loads_20_photos_with_their_recipes(dodo20):
    data = PhotoDataset(dodo20 / "recipes.csv", image_size=32, encoding="slot_code")
    assert len(data) == 20
    image, code = data[0]
    assert image.shape == (3, 32, 32) and code.shape == (261,)
    assert -1 <= image.min() and image.max() <= 1
    assert from_slot_code(code).count("pepperoni") == 2  # Double Pepperoni


def test_dodo20_with_720_views_is_14400_images(dodo20):
    data = Rotations(PhotoDataset(dodo20 / "recipes.csv", image_size=32))
    assert len(data) == 14_400
    assert data[14_399][0].shape == (3, 32, 32)


# --------------------------------------------------------------------------- broken manifests
# (the other broken manifests are rows of the robustness matrix, tests/test_robustness.py)


def test_binary_manifest_is_refused_as_not_utf8(tmp_path):
    (tmp_path / "recipes.csv").write_bytes(b"image,ingredients\n\xff\xfe\x00\x81\x98\n")
    with pytest.raises(ManifestError, match="not UTF-8"):
        PhotoDataset(tmp_path / "recipes.csv")


def test_manifest_paths_are_relative_to_the_manifest(tmp_path):
    (tmp_path / "images").mkdir()
    _photo(tmp_path / "images" / "a.png")
    (tmp_path / "recipes.csv").write_text("image,ingredients\nimages/a.png,ham\n", encoding="utf-8")
    assert len(PhotoDataset(tmp_path / "recipes.csv", image_size=8)) == 1


# --------------------------------------------------------------------------- images


def test_rgba_is_composited_on_white(tmp_path):
    image = load_image(_photo(tmp_path / "a.png", colour=(0, 0, 0, 0), mode="RGBA"))
    assert image.mode == "RGB" and image.getpixel((0, 0)) == (255, 255, 255)


def test_not_an_image_names_the_file(tmp_path):
    (tmp_path / "fake.png").write_text("hello")
    with pytest.raises(ValueError, match="fake.png: not an image"):
        load_image(tmp_path / "fake.png")


# Run in a fresh interpreter: the peak RSS (VmHWM, reset through /proc/self/clear_refs) is of one load_image.
PEAK_SCRIPT = textwrap.dedent("""
    import json, os, re, struct, sys, time, zlib
    from pathlib import Path
    from pizza_models.data import load_image

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    def grey_png(side, noisy_bytes):  # each row: some random bytes, then zeros
        compressor, body = zlib.compressobj(1), []
        for _ in range(side):
            body.append(compressor.compress(b"\\x00" + os.urandom(noisy_bytes) + bytes(side - noisy_bytes)))
        body.append(compressor.flush())
        header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
        return b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(body)) + chunk(b"IEND", b"")

    def mib(field):
        return int(re.search(field + r":\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)) / 1024

    report = {}
    for case, noisy in (("bomb", 0), ("large", 220)):
        data = grey_png(11_000, noisy)
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        before, start = mib("VmRSS"), time.perf_counter()
        try:
            outcome = list(load_image(data, case + ".png", max_side=1024).size)
        except ValueError as error:
            outcome = str(error)
        report[case] = dict(kb=len(data) // 1000, outcome=outcome, seconds=time.perf_counter() - start,
                            peak_mib=mib("VmHWM") - before)
    print(json.dumps(report))
""")


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="peak RSS is read from Linux's /proc")
def test_large_png_decoding_peaks_under_300_mb_and_a_bomb_is_refused_at_once():
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", PEAK_SCRIPT], cwd=root, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    bomb, large = report["bomb"], report["large"]
    # 121 MP of zeros in ~140 KB: refused from the header, before any pixel is decoded.
    assert "decompression bomb" in bomb["outcome"] and bomb["peak_mib"] < 20 and bomb["seconds"] < 1, report
    # 121 MP (121 MB as Pillow holds grey) from ~2.7 MB of file: decoded, shrunk to 1024 px, under the budget.
    assert large["outcome"] == [1024, 1024] and large["peak_mib"] < 300, report


def test_images_scale_to_model_size_in_minus_one_one():
    x = to_tensor(Image.new("RGB", (100, 60), (255, 0, 0)), 32)
    assert x.shape == (3, 32, 32)
    assert torch.allclose(x[:, 16, 16], torch.tensor([1.0, -1.0, -1.0]))


# --------------------------------------------------------------------------- augmentation


def test_720_views_are_all_distinct():
    torch.manual_seed(0)
    x = torch.rand(3, 16, 16) * 2 - 1
    data = Rotations([(x, torch.zeros(1))])
    views = torch.stack([data[i][0] for i in range(720)]).flatten(1)
    assert len(data) == 720
    assert torch.unique(views, dim=0).shape[0] == 720


def test_views_enumerate_angles_then_mirrored_angles():
    assert view_params(0) == (0.0, False)
    assert view_params(90) == (90.0, False)
    assert view_params(360) == (0.0, True)
    assert view_params(719) == (359.0, True)


def test_90_degree_view_equals_rot90_of_the_original():
    x = torch.rand(3, 32, 32) * 2 - 1
    assert torch.allclose(rotate_view(x, 90, flip=False), torch.rot90(x, 1, dims=(-2, -1)), atol=1e-5)


def test_borders_replicate_the_edge_instead_of_black():
    x = torch.ones(3, 32, 32)  # all white: any constant fill would show in the corners
    assert torch.allclose(rotate_view(x, 45, flip=True), x, atol=1e-5)


def test_random_views_are_reproducible_for_a_seed():
    x = torch.rand(3, 16, 16)
    a = Rotations([(x, 0)], random=True, seed=3)
    b = Rotations([(x, 0)], random=True, seed=3)
    assert torch.equal(a[0][0], b[0][0])


# --------------------------------------------------------------------------- kitchen data


def test_kitchen_dataset_is_exactly_labelled_and_reproducible():
    a = KitchenDataset(4, image_size=32, seed=1)
    b = KitchenDataset(4, image_size=32, seed=1)
    assert torch.equal(a.images, b.images) and a.recipes == b.recipes
    image, code = a[0]
    assert image.shape == (3, 32, 32) and code.shape == (encoding_size("counts"),)
    assert code.sum() == len(a.recipes[0])


def test_kitchen_stream_yields_fresh_pizzas():
    stream = iter(KitchenStream(image_size=32, seed=0, encoding="slot_code"))
    (x1, c1), (x2, _) = next(stream), next(stream)
    assert x1.shape == (3, 32, 32) and c1.shape == (261,)
    assert not torch.equal(x1, x2)

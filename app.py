"""Neural Pizzaiolo in the browser: pick ingredients and get a pizza, restyle your own photo.

    python app.py                 # http://127.0.0.1:7860, offline, weights from checkpoints/
    python app.py --port 8080 --share

Wiring only: every picture comes from ``pizza_models.pipeline``.
"""

import os

# Before gradio and huggingface_hub are imported: no analytics, no hub calls, no telemetry.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import argparse  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Optional  # noqa: E402

import gradio as gr  # noqa: E402

from pizza_models import pipeline  # noqa: E402
from pizza_models.hub import CheckpointError, PizzaModel  # noqa: E402
from pizza_models.recipe import (  # noqa: E402
    CHEESE, DEFAULT_VOCABULARY, DRIZZLE, INGREDIENTS, MENU, SAUCE, TOPPING, parse_recipe,
)

CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"
CLASSIFIER = "judge"  # the ingredient classifier that guesses an uploaded photo's recipe
LABELS = {  # folder -> menu label; the first present one is the default
    "cvaegan": "CVAE-GAN (modern, 64 px)",
    "gan": "GAN (modern, 64 px)",
    "cvae": "CVAE (modern, 64 px)",
    "dodo20-cvaegan": "CVAE-GAN on the 20 real photos (seed, 32 px)",
}
KIND_ORDER = (SAUCE, CHEESE, TOPPING, DRIZZLE)
# Grouped by role (sauces first), searchable by typing: (display name, id).
INGREDIENT_CHOICES = [(f"{i.name} ({i.kind})" if i.kind != TOPPING else i.name, i.id)
                      for i in sorted(INGREDIENTS, key=lambda i: (KIND_ORDER.index(i.kind), i.name))]
MAX_PIZZAS = 16


def portions(picked: Optional[list[str]], doubled: Optional[list[str]]) -> list[str]:
    """The recipe of the two pickers: each picked ingredient once, a doubled one twice (typed names
    such as "HAM" or "ветчина" count as the ingredient they name)."""
    picked, doubled = list(picked or []), list(doubled or [])
    chosen = {_key(name) for name in picked}
    return picked + [d for d in doubled for _ in range(1 if _key(d) in chosen else 2)]


def _key(name: str) -> str:
    try:
        return DEFAULT_VOCABULARY.ingredients[DEFAULT_VOCABULARY.index(name)].id
    except ValueError:  # unknown: parse_recipe will name it with suggestions
        return name


def menu_example(recipe: str) -> list[list[str]]:
    """A menu recipe as the pickers' values: [picked, doubled]."""
    ids = parse_recipe(recipe).portions
    return [sorted(set(ids), key=ids.index), sorted({i for i in ids if ids.count(i) > 1})]


def build_app(shelf: dict[str, PizzaModel]) -> gr.Blocks:
    """The three-tab app over loaded models: ``shelf`` maps checkpoint folder names to models."""
    drawers = [name for name in LABELS if name in shelf] + sorted(
        name for name, m in shelf.items() if name not in LABELS and m.draws)
    if not drawers:
        raise ValueError("no model that draws pizzas among the checkpoints: " + ", ".join(shelf))
    encoders = [name for name in drawers if shelf[name].encodes]
    classifier = shelf.get(CLASSIFIER)
    choices = [(LABELS.get(name, name), name) for name in drawers]

    def model(name: str) -> PizzaModel:
        if name not in shelf:
            raise gr.Error(f"unknown model {name!r}; choose one of {', '.join(drawers)}")
        return shelf[name]

    def create(picked, doubled, noise, seed, count, name):
        try:
            images = pipeline.generate(model(name), [portions(picked, doubled)], n=int(count), seed=int(seed),
                                       noise=float(noise))
        except ValueError as error:
            raise gr.Error(str(error), print_exception=False) from None
        return images

    def dice():
        return random.randrange(2**31)

    def read_photo(file, crop):
        if file is None:
            raise gr.Error("upload a photo of a pizza (JPEG, PNG or WebP)", print_exception=False)
        try:
            photo, (width, height) = pipeline.read_photo(file, name=Path(file).name)
        except ValueError as error:
            raise gr.Error(str(error), print_exception=False) from None
        finally:
            _forget_upload(file)
        if photo.size != (width, height):
            gr.Info(f"Downscaled the {width}x{height} photo to {photo.width}x{photo.height}.")
        guess = []
        if classifier is not None:
            view = pipeline.crop_to_disc(photo) if crop else photo
            guess = list(pipeline.guess_recipe(classifier, view).ingredients)
        return photo, guess, guess, None

    def restyle(photo, crop, source, target, name, noise, seed):
        if photo is None:
            raise gr.Error("upload a photo first", print_exception=False)
        if name not in encoders:
            raise gr.Error(f"restyling needs a model with an encoder: one of {', '.join(encoders)}",
                           print_exception=False)
        try:
            photo, _ = pipeline.read_photo(photo, name=Path(photo).name)
            view = pipeline.crop_to_disc(photo) if crop else photo
            reconstruction, result = pipeline.restyle(shelf[name], view, list(source or []), list(target or []),
                                                      seed=int(seed), noise=float(noise))
        except ValueError as error:
            raise gr.Error(str(error), print_exception=False) from None
        return pipeline.model_view(shelf[name], view), reconstruction, result

    def menu(name, seed, noise):
        return pipeline.single_ingredient_menu(model(name), seed=int(seed), noise=float(noise))

    def morph(start, end, name, seed, steps):
        try:
            return pipeline.interpolate(model(name), MENU[start], MENU[end], steps=int(steps), seed=int(seed))
        except (KeyError, ValueError) as error:
            raise gr.Error(f"cannot interpolate: {error}", print_exception=False) from None

    with gr.Blocks(title="Neural Pizzaiolo", delete_cache=(600, 3600)) as app:
        gr.Markdown("# Neural Pizzaiolo\nPick ingredients, get a pizza. Models trained on procedurally "
                    "rendered pizzas; the last one on the 20 real photos of the original experiment.")
        with gr.Tab("Create"):
            with gr.Row():
                with gr.Column(scale=1):
                    # Custom values reach parse_recipe, which also reads Russian names and suggests fixes.
                    picked = gr.Dropdown(INGREDIENT_CHOICES, value=["tomato_sauce", "mozzarella", "pepperoni"],
                                         multiselect=True, allow_custom_value=True, label="Ingredients",
                                         elem_id="ingredients", info="Type to search; at most 9 portions.")
                    doubled = gr.Dropdown(INGREDIENT_CHOICES, value=[], multiselect=True, allow_custom_value=True,
                                          label="Double portion of")
                    noise = gr.Slider(0, 2, value=1, step=0.05, label="Latent noise",
                                      info="0: the model's typical pizza for the recipe; higher strays further.")
                    with gr.Row():
                        seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=2**31 - 1, scale=3)
                        dice_button = gr.Button("Random seed", scale=1, min_width=80)
                    count = gr.Slider(1, MAX_PIZZAS, value=4, step=1, label="Pizzas")
                    model_name = gr.Dropdown(choices, value=drawers[0], label="Model")
                    create_button = gr.Button("Generate", variant="primary", elem_id="generate")
                with gr.Column(scale=2):
                    gallery = gr.Gallery(label="Pizzas", columns=4, height="auto", object_fit="contain",
                                         elem_id="pizzas", format="png")
            gr.Examples([menu_example(recipe) for recipe in MENU.values()], inputs=[picked, doubled],
                        example_labels=list(MENU), label="From the real menu",
                        examples_per_page=len(MENU))
            create_inputs = [picked, doubled, noise, seed, count, model_name]
            create_button.click(create, create_inputs, gallery, api_name="generate", concurrency_id="model")
            noise.release(create, create_inputs, gallery, api_visibility="private", concurrency_id="model")
            dice_button.click(dice, None, seed, api_name="dice", queue=False).then(
                create, create_inputs, gallery, api_visibility="private", concurrency_id="model")
            app.load(create, create_inputs, gallery, api_visibility="private", concurrency_id="model")

        with gr.Tab("Restyle"):
            gr.Markdown("Upload a pizza photo; the classifier proposes its recipe (edit it), pick a target "
                        "recipe, and the model encodes the photo with the first and decodes it with the second.")
            with gr.Row():
                with gr.Column():
                    upload = gr.File(label="Your pizza photo", file_types=["image"], elem_id="upload")
                    # A file path, not decoded by gradio: restyle reads it with the same safe loader as uploads.
                    photo = gr.Image(label="Photo", type="filepath", image_mode=None, interactive=False,
                                     elem_id="photo", format="png")
                    crop = gr.Checkbox(True, label="Crop to the pizza's disc (as the 20 real photos are framed)")
                with gr.Column():
                    source = gr.Dropdown(INGREDIENT_CHOICES, multiselect=True, allow_custom_value=True,
                                         label="Its recipe (guessed)", elem_id="source")
                    target = gr.Dropdown(INGREDIENT_CHOICES, multiselect=True, allow_custom_value=True,
                                         label="Target recipe", elem_id="target")
                    restyle_model = gr.Dropdown([c for c in choices if c[1] in encoders],
                                                value=encoders[0] if encoders else None, label="Model")
                    restyle_noise = gr.Slider(0, 2, value=0, step=0.05, label="Latent noise",
                                              info="0: decode the encoder's mean (the faithful reconstruction).")
                    restyle_seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=2**31 - 1)
                    restyle_button = gr.Button("Restyle", variant="primary", elem_id="restyle")
            with gr.Row():
                shown = dict(format="png", height=256, interactive=False)
                model_view = gr.Image(label="Input, as the model sees it", elem_id="model-view", **shown)
                reconstruction = gr.Image(label="Reconstruction", elem_id="reconstruction", **shown)
                result = gr.Image(label="Restyled", elem_id="restyled", **shown)
            upload.upload(read_photo, [upload, crop], [photo, source, target, upload], api_name="read_photo",
                          concurrency_id="model")
            restyle_button.click(restyle, [photo, crop, source, target, restyle_model, restyle_noise, restyle_seed],
                                 [model_view, reconstruction, result], api_name="restyle", concurrency_id="model")

        with gr.Tab("Menu"):
            with gr.Row():
                menu_model = gr.Dropdown(choices, value=drawers[0], label="Model")
                menu_seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=2**31 - 1)
                menu_noise = gr.Slider(0, 2, value=0, step=0.05, label="Latent noise")
            menu_button = gr.Button("One pizza per ingredient", variant="primary")
            menu_gallery = gr.Gallery(label="Single-ingredient pizzas", columns=7, height="auto", format="png")
            with gr.Row():
                start = gr.Dropdown(list(MENU), value="Margherita", label="From")
                end = gr.Dropdown(list(MENU), value="Hawaiian", label="To")
                steps = gr.Slider(2, 12, value=8, step=1, label="Steps")
            morph_button = gr.Button("Interpolate")
            strip = gr.Gallery(label="Interpolation", columns=8, height="auto", format="png")
            menu_button.click(menu, [menu_model, menu_seed, menu_noise], menu_gallery, api_name="menu",
                              concurrency_id="model")
            morph_button.click(morph, [start, end, menu_model, menu_seed, steps], strip, api_name="interpolate",
                               concurrency_id="model")
    # One model call at a time: on a small CPU parallel calls only share the cores (and each holds
    # its activations), so a bounded queue keeps latency fair and memory flat under load.
    app.queue(default_concurrency_limit=1, max_size=64)
    return app


def _forget_upload(path: str) -> None:
    """Delete an uploaded file once read: uploads live in gradio's cache, never anywhere else."""
    cache = Path(os.environ.get("GRADIO_TEMP_DIR", Path(tempfile.gettempdir()) / "gradio")).resolve()
    file = Path(path).resolve()
    if cache in file.parents:
        file.unlink(missing_ok=True)


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Neural Pizzaiolo: a pizza for any recipe, in the browser.")
    p.add_argument("--checkpoints", type=Path, default=CHECKPOINTS, help="folder of checkpoint folders")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: this machine only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    p.add_argument("--device", default="cpu", help="cpu (default) or cuda")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        app = build_app(pipeline.load_shelf(args.checkpoints, args.device))
    except (CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    app.launch(server_name=args.host, server_port=args.port, share=args.share, show_error=True,
               footer_links=["api"], max_file_size="50mb")
    return 0


if __name__ == "__main__":
    sys.exit(main())

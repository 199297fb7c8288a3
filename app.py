"""Neural Pizzaiolo in the browser: pick ingredients and get a pizza, watch it being made, restyle your own photo.

    python app.py                 # http://127.0.0.1:7860, offline, weights from checkpoints/
    python app.py --port 8080 --share

Wiring only: every picture comes from ``pizza_models`` (``pipeline``, ``cook``, ``export``), what
the form and its links mean from ``pizza_models.app.order``. Each action is wired twice: a public
endpoint for API clients (``/generate``...), which raises its errors, and the button or slider in
the page, which shows them in a line under the button and keeps the last pictures. The page's own
script and look are app.js and app.css.
"""

import os

# Before gradio and huggingface_hub are imported: no analytics, no hub calls, no telemetry.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import argparse
import random
import sys
from pathlib import Path
from typing import Any, Callable

import gradio as gr

from pizza_models import pipeline
from pizza_models.app import photo_edit
from pizza_models.app.cook import has_layers, making, no_layers
from pizza_models.app.events import link_opener, quiet_refusals, resolve_on_leave, wire
from pizza_models.app.export import page_classes, take_away, take_away_making
from pizza_models.app.filecache import cache_dir, keep_trimming
from pizza_models.hub import CheckpointError, PizzaModel
from pizza_models.families.photo_reader import PhotoReader
from pizza_models.app.order import (
    INGREDIENT_CHOICES, SHEET_COLUMNS, Order, menu_example, picked_as_shown, pizza_at, portions, read_query,
)
from pizza_models.menu import MENU
from pizza_models.app.restyling import PHOTO_EDIT, READER, photo_actions
from pizza_models.app.shelf import drawer, model_choices

HERE = Path(__file__).resolve().parent
CHECKPOINTS = HERE / "checkpoints"
EXAMPLES = (HERE / "examples", HERE.parent / "shared" / "datasets" / "dodo20" / "images")  # try-it photos
PHOTO_MODEL = "photo"  # the Restyle tab's model default without the photo reader: the model trained on real photos
DEFAULT_RECIPE = ["tomato_sauce", "mozzarella", "pepperoni"]
MAX_PIZZAS = 16
SHOWN_SIDE = 256  # restyle pictures are shown at this size, model pixels as crisp squares
SEED_MAX = 2**31 - 1
NOISE_MAX = 2.0  # the sliders' range; an API client may send up to pipeline.MAX_NOISE
STATE_SESSIONS = 256  # sessions gradio keeps (about 110 KB each): ~28 MB at most, not ~1 GB
CACHE_BYTES = 1 << 30  # uploads and pictures kept on disk at most; the oldest go first
CACHE_AGE_S = 300  # nothing in the cache outlives this
CSS, JS = (HERE / "app.css").read_text(), (HERE / "app.js").read_text()
PRIVATE = dict(api_visibility="private")


def bring_into_view(selector: str, status: str) -> str:
    """JavaScript run when an event's pictures have arrived: ``selector`` scrolls into view (on a wide
    screen only when it lies below the fold) unless the ``status`` line has a message to read (app.js)."""
    return f"() => window.pizzaiolo?.bringIntoView({selector!r}, {status!r})"


# --------------------------------------------------------------------------- tabs


def sheet_classes(images) -> list[str]:
    """The Create sheet's CSS classes: the browser enlarges clip-art as crisp squares, photographic
    pizzas smoothly (``export.page_classes``)."""
    return ["pizza-sheet", *page_classes(images)]


def grid_classes(images) -> list[str]:
    """A gallery's CSS classes (``app.css``), crisp or smooth as ``sheet_classes``."""
    return ["pizza-grid", "menu-grid", *page_classes(images)]


def create_form(choices: list[tuple[str, str]]) -> tuple[list, Any, Any, Any]:
    """The Create tab's controls: the fields [picked, doubled, noise, seed, count, model] (a link's
    values, in its order), the dice, Generate and the status line under it."""
    picked = gr.Dropdown(INGREDIENT_CHOICES, value=DEFAULT_RECIPE, multiselect=True, allow_custom_value=True,
                         label="Ingredients", elem_id="ingredients", elem_classes="ingredient-picker",
                         info="Type an English or Russian name; at most 9 portions.")
    doubled = gr.Dropdown(INGREDIENT_CHOICES, value=[], multiselect=True, allow_custom_value=True,
                          label="Double portion of", elem_id="doubled", elem_classes="ingredient-picker")
    noise = gr.Slider(0, NOISE_MAX, value=1, step=0.05, label="Variety (latent noise)", elem_id="noise",
                      info="0: the model's typical pizza for the recipe, so every pizza is the same; "
                           "1: as varied as in training; higher strays further.")
    with gr.Row():
        seed = gr.Number(0, label="Seed", info=f"0 to {SEED_MAX}; the same seed gives the same pizzas",
                         precision=0, scale=3, elem_id="seed")
        dice = gr.Button("Random seed", scale=1, min_width=80)
    count = gr.Slider(1, MAX_PIZZAS, value=4, step=1, label="Pizzas", elem_id="count")
    model = gr.Dropdown(choices, value=choices[0][1], label="Model", elem_id="create-model")
    button = gr.Button("Generate", variant="primary", elem_id="generate")
    status = gr.Markdown("", elem_id="create-status", elem_classes="status")
    return [picked, doubled, noise, seed, count, model], dice, button, status


def create_tab(shelf: dict[str, PizzaModel], choices: list[tuple[str, str]]) -> tuple[Callable, list]:
    """Create: ingredients, noise, seed and count in; a sheet of pizzas out (rows of four), with its
    link and its download, and beside it the making of the pizza clicked. Returns the function that
    opens a link and its outputs, for the page's load event."""
    defaults = (DEFAULT_RECIPE, [], 1.0, 0, 4, choices[0][1])

    def create(picked, doubled, noise, seed, count, name):
        model = drawer(shelf, name)
        count = pipeline.check_whole(count, "the number of pizzas", 1, MAX_PIZZAS)
        pizzas = pipeline.generate(model, [portions(picked, doubled)], n=count, seed=seed, noise=noise)
        return pipeline.sheet(pizzas, columns=SHEET_COLUMNS)  # one small file; the page enlarges it

    def drawn_in_page(picked, doubled, noise, seed, count, name):  # the sheet, its link and its download
        picked, doubled = picked_as_shown(picked), picked_as_shown(doubled)
        drawn = create(picked, doubled, noise, seed, count, name)
        order = Order(tuple(picked), tuple(doubled or ()), noise, seed, count, name)
        return drawn, order.query(), take_away(drawn, order)

    def create_in_page(*values):
        drawn, query, download = drawn_in_page(*values)
        return gr.Image(drawn, elem_classes=sheet_classes(drawn)), query, download

    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            fields, dice, button, status = create_form(choices)
        with gr.Column(scale=2, min_width=300, elem_id="create-results"):
            # Drawn once at start: the page comes with its first pizzas, no round trip. One sheet of
            # up to 16 pizzas at the model's resolution, enlarged by the browser.
            first, first_link, first_file = drawn_in_page(*defaults)
            sheet = gr.Image(first, label="Pizzas: click one to see how it is made", format="png", interactive=False,
                             elem_id="pizzas", elem_classes=sheet_classes(first))
            link = gr.Textbox(first_link, visible="hidden", elem_id="sheet-link")  # the query string of the sheet shown
            with gr.Row():
                download = gr.DownloadButton("Download the pizzas (PNG, 4x)", first_file, size="sm", elem_id="sheet-png")
                copy = gr.Button("Copy link", size="sm", elem_id="copy-link")
        with gr.Column(scale=1, min_width=280, elem_id="making-panel"):
            making_panel(shelf, fields, link)
    examples = gr.Examples([menu_example(recipe) for recipe in MENU.values()], inputs=fields[:2],
                           example_labels=list(MENU), label="From the real menu", examples_per_page=len(MENU))
    for picker in fields[:2]:  # Enter adds typed text as is; leaving the box turns it into what it names
        picker.blur(resolve_on_leave, picker, picker, queue=False, show_progress="hidden", **PRIVATE)
    limits = [(fields[2], "the latent noise", 0, NOISE_MAX, False), (fields[3], "the seed", 0, SEED_MAX, True),
              (fields[4], "the number of pizzas", 1, MAX_PIZZAS, True)]
    page, outputs, drawn = wire(button.click, create, fields, [sheet], status, "generate", limits=limits,
                                page_fn=create_in_page, page_outputs=[link, download])
    drawn.then(None, js=bring_into_view("#pizzas", "#create-status"), **PRIVATE)
    # The slider redraws once, when let go (or a typed value is entered), not at every step of a drag.
    redraw = dict(concurrency_id="model", preprocess=False, **PRIVATE)
    fields[2].release(page, fields, outputs, trigger_mode="always_last", **redraw)
    dice.click(lambda: random.randrange(SEED_MAX), None, fields[3], queue=False, **PRIVATE).then(
        page, fields, outputs, **redraw)
    examples.load_input_event.then(page, fields, outputs, **redraw)  # a menu pizza is drawn as it is picked
    # The address follows the sheet shown, so that it can be shared; "Copy link" copies it.
    link.change(None, link, None, js="(link) => window.pizzaiolo?.remember(link, true)", **PRIVATE)
    copy.click(None, link, None, js="(link) => window.pizzaiolo?.copyLink(link)", **PRIVATE)
    listed = [name for _, name in choices]
    return link_opener(page, listed, defaults, limits), [*fields, sheet, link, download, status]


def making_panel(shelf: dict[str, PizzaModel], fields: list, link) -> None:
    """How it's made, beside the sheet: the clicked pizza's steps as an animation and a strip of named
    pictures, with downloads; ``/cook`` (the form's values and a pizza's index) for API clients."""

    def cook(picked, doubled, noise, seed, count, index, name):
        model = drawer(shelf, name)
        count = pipeline.check_whole(count, "the number of pizzas", 1, MAX_PIZZAS)
        index = pipeline.check_whole(index, "the pizza's index", 0, count - 1)
        steps = making(model, portions(picked, doubled), n=count, index=index, seed=seed, noise=noise, name=name)
        return [(step.image, step.name) for step in steps], *take_away_making(steps, f"making-pizza{index + 1}-{name}-seed{seed}")

    def cook_in_page(sheet_link, point):  # the pizza clicked on the sheet shown
        values = read_query(sheet_link if isinstance(sheet_link, str) else "", [None] * 6) or [None] * 6
        picked, doubled, noise, seed, count, name = values
        model = drawer(shelf, name)
        count = pipeline.check_whole(count, "the number of pizzas", 1, MAX_PIZZAS)
        index = pizza_at(point, count, model.config.image_size)
        if has_layers(model):
            strip, gif, webp = cook(picked, doubled, noise, seed, count, index, name)
            shown, pizza = [gr.Gallery(strip, visible=True, elem_classes=grid_classes([image for image, _ in strip])),
                            *(gr.DownloadButton(value=f, visible=True) for f in (gif, webp)),
                            gr.Image(webp, visible=True)], strip[-1][0]
            note = f"**Pizza {index + 1}**, step by step:"
        else:  # say so, and still offer the pizza
            pizza = pipeline.generate(model, [portions(picked, doubled)], n=count, seed=seed, noise=noise)[index]
            shown, note = [gr.update(value=None, visible=False)] * 4, f"**Pizza {index + 1}**: {no_layers(name)}"
        order = Order(tuple(picked or ()), tuple(doubled or ()), noise, seed, count, name)
        return (*shown, gr.DownloadButton(value=take_away(pizza, order, index), visible=True), note)

    note = gr.Markdown("Click a pizza to see how it is made: dough, sauce, cheese, then each topping and drizzle.",
                       elem_id="cook-note", elem_classes="note")
    status = gr.Markdown("", elem_id="cook-status", elem_classes="status")
    animation = gr.Image(label="How it's made", type="filepath", interactive=False, visible=False,
                         elem_id="making-animation", elem_classes="making-animation")
    strip = gr.Gallery(label="Step by step", columns=4, height="auto", format="png", preview=False, visible=False,
                       elem_id="making", elem_classes=grid_classes([]))
    with gr.Row():
        gif = gr.DownloadButton("GIF", visible=False, size="sm", elem_id="making-gif", min_width=80)
        webp = gr.DownloadButton("WebP", visible=False, size="sm", elem_id="making-webp", min_width=80)
        pizza = gr.DownloadButton("This pizza (PNG)", visible=False, size="sm", elem_id="pizza-png", min_width=80)
    index = gr.Number(0, precision=0, visible=False, label="Pizza on the sheet (from 0)")  # the page sends the point clicked
    point = gr.Textbox(visible=False)
    trigger = gr.Button("How it's made", visible="hidden", elem_id="cook-trigger")  # clicked by app.js
    *_, cooked = wire(trigger.click, cook, [*fields[:5], index, fields[5]], [strip, gif, webp], status, "cook",
                      page_fn=cook_in_page, page_inputs=[link, point], page_outputs=[animation, pizza, note],
                      js="(link, point) => [link, window.pizzaiolo?.point || point]")
    cooked.then(None, js=bring_into_view("#making-panel", "#cook-status"), **PRIVATE)


def restyle_tab(shelf: dict[str, PizzaModel]) -> None:
    """Restyle: a photo in, its guessed recipe (with confidences), and the photo edited or redrawn with another."""
    encoders = model_choices(shelf, "encodes")
    if isinstance(shelf.get(READER), PhotoReader):
        encoders = [("Photo edit: your photo itself, toppings taken off and laid on (best)", PHOTO_EDIT)] + encoders
    read_photo, read_example, restyle = photo_actions(shelf, EXAMPLES, SHOWN_SIDE)
    gr.Markdown("Upload a pizza photo (or try one); the photo reader guesses its recipe: check it, pick a target "
                "recipe and Restyle.")
    with gr.Row():
        with gr.Column(min_width=300):
            upload = gr.File(label="Your pizza photo", file_types=["image"], elem_id="upload")
            example = gr.Dropdown(list(photo_edit.try_it_photos(*EXAMPLES)), value=None, label="Or try one", elem_id="example")
            # A file path, never decoded by gradio: restyle reads it with the same safe reader as uploads.
            photo = gr.Image(label="Photo", type="filepath", image_mode=None, interactive=False, elem_id="photo",
                             format="png", height=SHOWN_SIDE)
            crop = gr.Checkbox(True, label="Crop to the pizza's disc (as the 20 real photos are framed; the photo "
                               "edit always keeps the whole photo)")
        with gr.Column(min_width=300):
            confidence = gr.Label(label="What the photo reader sees (probability per ingredient; 50% and up is "
                                  "guessed)", num_top_classes=9, elem_id="confidence")
            source = gr.Dropdown(INGREDIENT_CHOICES, multiselect=True, allow_custom_value=True,
                                 label="Its recipe (guessed: check it)", elem_id="source",
                                 elem_classes="ingredient-picker")
            target = gr.Dropdown(INGREDIENT_CHOICES, multiselect=True, allow_custom_value=True,
                                 label="Target recipe", elem_id="target",
                                 elem_classes="ingredient-picker")
            names = [name for _, name in encoders]
            default = PHOTO_EDIT if PHOTO_EDIT in names else PHOTO_MODEL if PHOTO_MODEL in names else names[0] if names else None
            model = gr.Dropdown(encoders, value=default, label="Model",
                                info="The photo edit keeps your photo, at its size up to 512 px: what you take off is "
                                     "refilled from its own crust, sauce and cheese. The models redraw it at theirs.")
            noise = gr.Slider(0, NOISE_MAX, value=0, step=0.05, label="Variety (latent noise)",
                              info="Models only. 0: the faithful reading of the photo; higher strays further.")
            seed = gr.Number(0, label="Seed", info=f"0 to {SEED_MAX}: where added pieces fall", precision=0)
            button = gr.Button("Restyle", variant="primary", elem_id="restyle", interactive=bool(encoders))
            status = gr.Markdown("", elem_id="restyle-status", elem_classes="status")
    with gr.Row(elem_classes="crisp", elem_id="restyle-results"):
        shown = dict(format="png", height=SHOWN_SIDE, width=SHOWN_SIDE, interactive=False, min_width=160)
        outputs = [gr.Image(label="Input", elem_id="input-view", **shown),
                   gr.Image(label="Model view: what it reads", elem_id="model-view", **shown),
                   gr.Image(label="Reading (photo edit, toppings tinted) or reconstruction (model)",
                            elem_id="reconstruction", **shown),
                   gr.Image(label="Restyled", elem_id="restyled", **shown)]
    for picker in (source, target):
        picker.blur(resolve_on_leave, picker, picker, queue=False, show_progress="hidden", **PRIVATE)
    # A refused file leaves the upload box (index 3 of the outputs) empty for the next one.
    read_outputs = [photo, source, target, upload, confidence]
    wire(upload.upload, read_photo, [upload, crop], read_outputs, status, "read_photo", on_error={3: None})
    wire(example.input, read_example, [example, crop], read_outputs, status, "read_example")
    # gradio neither decodes the photo nor follows a data: URL; `uploaded` and pipeline.read_photo
    # check everything, numbers included (pipeline.check_seed, check_noise).
    def restyle_in_page(photo, crop, source, target, *rest):
        return restyle(photo, crop, picked_as_shown(source), picked_as_shown(target), *rest)

    *_, restyled = wire(button.click, restyle, [photo, crop, source, target, model, noise, seed], outputs, status,
                        "restyle", page_fn=restyle_in_page,
                        limits=[(noise, "the latent noise", 0, NOISE_MAX, False), (seed, "the seed", 0, SEED_MAX, True)])
    restyled.then(None, js=bring_into_view("#restyle-results", "#restyle-status"), **PRIVATE)


def menu_tab(shelf: dict[str, PizzaModel], choices: list[tuple[str, str]]) -> None:
    """Menu: one pizza per ingredient, and an interpolation strip between two menu pizzas."""

    def menu(name, seed, noise):  # kept per (model, seed, noise): asked again, it answers at once
        return pipeline.single_ingredient_menu(drawer(shelf, name), seed=seed, noise=noise)

    def menu_in_page(*values):  # the API gets the pictures; the page also how to enlarge them
        pizzas = menu(*values)
        return gr.Gallery(pizzas, elem_classes=grid_classes([image for image, _ in pizzas]))

    def morph(start, end, name, seed, steps):
        if not isinstance(start, str) or not isinstance(end, str) or start not in MENU or end not in MENU:
            raise ValueError(f"cannot interpolate: pick two pizzas of the menu ({', '.join(MENU)})")
        steps = pipeline.check_whole(steps, "the number of steps", 2, 12)
        return pipeline.interpolate(drawer(shelf, name), MENU[start], MENU[end], steps=steps, seed=seed)

    def morph_in_page(*values):
        pizzas = morph(*values)
        return gr.Gallery(pizzas, elem_classes=grid_classes(pizzas))

    with gr.Row():
        model = gr.Dropdown(choices, value=choices[0][1], label="Model", elem_id="menu-model")
        seed = gr.Number(0, label="Seed", info=f"0 to {SEED_MAX}", precision=0)
        # 1, as Create: at 0 the photo-painted model lays its pieces on its exact spiral over a base without its
        # grain, the most clip-art picture it draws.
        noise = gr.Slider(0, NOISE_MAX, value=1, step=0.05, label="Variety (latent noise)",
                          info="1: pizzas as varied as in training; 0: each model's typical pizza")
    button = gr.Button("One pizza per ingredient", variant="primary", elem_id="menu-button")
    status = gr.Markdown("", elem_id="menu-status", elem_classes="status")
    gallery = gr.Gallery(label="Single-ingredient pizzas", columns=7, height="auto", format="png", preview=False,
                         elem_id="menu", elem_classes=grid_classes([]))
    with gr.Row():
        start = gr.Dropdown(list(MENU), value="Margherita", label="From")
        end = gr.Dropdown(list(MENU), value="Hawaiian", label="To")
        steps = gr.Slider(2, 12, value=8, step=1, label="Steps")
    morph_button = gr.Button("Interpolate", elem_id="interpolate")
    strip = gr.Gallery(label="Interpolation", columns=8, height="auto", format="png", preview=False,
                       elem_id="strip", elem_classes=grid_classes([]))
    seed_limit = (seed, "the seed", 0, SEED_MAX, True)
    # Its own queue: a kept grid never waits behind other requests' model calls (pipeline.MODEL_LOCK
    # still runs one model call at a time when a grid must be drawn).
    wire(button.click, menu, [model, seed, noise], [gallery], status, "menu", concurrency_id="menu",
         limits=[seed_limit, (noise, "the latent noise", 0, NOISE_MAX, False)], page_fn=menu_in_page)
    wire(morph_button.click, morph, [start, end, model, seed, steps], [strip], status, "interpolate",
         limits=[seed_limit, (steps, "the number of steps", 2, 12, True)], page_fn=morph_in_page)


def build_app(shelf: dict[str, PizzaModel]) -> gr.Blocks:
    """The three-tab app over loaded models: ``shelf`` maps checkpoint folder names to models.

    Menus list models by what they can do (``draws``, ``encodes``, ``classifies``), never by family.
    """
    drawers = model_choices(shelf, "draws")
    if not drawers:
        raise ValueError("no model that draws pizzas among the checkpoints: " + ", ".join(shelf))
    # Each picture-maker once: a model drawing the same pictures as one listed before it is left out
    # of Create and Menu (it stays in Restyle, and an API client may still name it).
    distinct = set(pipeline.distinct_drawers(shelf, [name for _, name in drawers]))
    drawers = [(label, name) for label, name in drawers if name in distinct]
    with gr.Blocks(title="Neural Pizzaiolo", delete_cache=(60, CACHE_AGE_S)) as app:
        gr.Markdown("# Neural Pizzaiolo\nPick ingredients, get a pizza. The first model learned from pizzas "
                    "painted with pieces and crusts of 20 real menu photos; the others from clip-art pizzas or the photos alone.")
        with gr.Tab("Create"):
            open_link, link_outputs = create_tab(shelf, drawers)
        with gr.Tab("Restyle"):
            restyle_tab(shelf)
        with gr.Tab("Menu"):
            menu_tab(shelf, drawers)
        # A link's values drawn as the page opens. Its own queue: a plain visit never waits behind
        # model calls (pipeline.MODEL_LOCK still runs one model call at a time).
        app.load(open_link, None, link_outputs, concurrency_id="link", **PRIVATE)
    # One model call at a time: on a small CPU parallel calls only share the cores (and each holds
    # its activations), so a bounded queue keeps latency fair and memory flat under load.
    app.queue(default_concurrency_limit=1, max_size=64)
    return app


# --------------------------------------------------------------------------- command line


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Neural Pizzaiolo: a pizza for any recipe, in the browser.")
    p.add_argument("--checkpoints", type=Path, nargs="+", action="extend", default=[], metavar="DIR",
                   help="more models beside the shipped ones: a training run's folder (e.g. runs/layered-modern-64) "
                        "or a folder of them (e.g. runs); each is listed under its folder's name")
    p.add_argument("--only", action="store_true", help="serve only the --checkpoints models, not the shipped ones")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: this machine only)")
    p.add_argument("--port", type=int, default=7860)
    p.add_argument("--share", action="store_true", help="also serve through a public gradio.live link")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, or auto (the GPU when there is one)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.only and not args.checkpoints:
        print("error: --only serves the --checkpoints folders: name at least one", file=sys.stderr)
        return 1
    try:
        device = pipeline.resolve_device(args.device)
        folders = args.checkpoints if args.only else [CHECKPOINTS, *args.checkpoints]
        app = build_app(pipeline.load_shelves(folders, device))
    except (CheckpointError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    keep_trimming(cache_dir(), CACHE_BYTES, CACHE_AGE_S)
    quiet_refusals([__file__])
    app.launch(server_name=args.host, server_port=args.port, share=args.share, show_error=True, quiet=True,
               footer_links=["api"], max_file_size="50mb", state_session_capacity=STATE_SESSIONS, css=CSS, js=JS,
               prevent_thread_lock=True)
    print(f"Neural Pizzaiolo on {app.local_url}" + (f" and {app.share_url}" if app.share_url else
                                                   " (python app.py --share for a public link)"), flush=True)
    app.block_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())

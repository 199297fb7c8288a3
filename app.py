"""Neural Pizzaiolo in the browser: pick ingredients and get a pizza, restyle your own photo.

    python app.py                 # http://127.0.0.1:7860, offline, weights from checkpoints/
    python app.py --port 8080 --share

Wiring only: every picture comes from ``pizza_models.pipeline``. Each action is wired twice: a
public endpoint for API clients (``/generate``...), which raises its errors, and the button or
slider in the page, which shows them in a line under the button and keeps the last pictures.
"""

import os

# Before gradio and huggingface_hub are imported: no analytics, no hub calls, no telemetry.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

import argparse
import functools
import random
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import gradio as gr

from pizza_models import pipeline
from pizza_models.hub import CheckpointError, PizzaModel
from pizza_models.recipe import (
    CHEESE, DEFAULT_VOCABULARY, DRIZZLE, INGREDIENTS, MENU, SAUCE, TOPPING, parse_recipe, recipe_names,
)

CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"
LABELS = {  # folder -> what the model is, in plain words; menus list them in this order
    "layered": "Layered: each ingredient drawn as its own pieces (best)",
    "gan": "Sharp sketcher: crisp pizzas, pieces move with the seed",
    "cvaegan": "Photo reader + the sharp sketcher: restyles photos",
    "cvae": "Soft painter: blurry, colours follow the recipe",
    "photo": "Photo model: learned from the 20 real photos",
    "dodo20-cvaegan": "The original article's model, on the 20 real photos (32 px)",
}
PHOTO_MODEL = "photo"  # the Restyle tab's default: the model trained on real photos
KIND_ORDER = (SAUCE, CHEESE, TOPPING, DRIZZLE)
# Grouped by role (sauces first); the label carries the Russian menu name so typing either finds it.
INGREDIENT_CHOICES = [(f"{i.name} · {i.name_ru.lower()}" + (f" ({i.kind})" if i.kind != TOPPING else ""), i.id)
                      for i in sorted(INGREDIENTS, key=lambda i: (KIND_ORDER.index(i.kind), i.name))]
DEFAULT_RECIPE = ["tomato_sauce", "mozzarella", "pepperoni"]
MAX_PIZZAS = 16
SHEET_COLUMNS = 4  # pizzas per row of the Create tab's sheet
SHOWN_SIDE = 256  # restyle pictures are shown at this size, model pixels as crisp squares
SEED_MAX = 2**31 - 1
NOISE_MAX = 2.0  # the sliders' range; an API client may send up to pipeline.MAX_NOISE
STATE_SESSIONS = 256  # sessions gradio keeps (about 110 KB each): ~28 MB at most, not ~1 GB
CACHE_BYTES = 1 << 30  # uploads and pictures kept on disk at most; the oldest go first
CACHE_AGE_S = 300  # nothing in the cache outlives this
CSS = """
/* Every pizza visible: galleries grow with their pictures, columns shrink to the screen. */
.pizza-grid .grid-wrap { height: auto !important; max-height: none !important; min-height: 0 !important;
                         overflow: visible !important; }
.pizza-grid .grid-container { grid-template-columns: repeat(var(--grid-cols), minmax(0, 1fr)) !important;
                              grid-template-rows: none !important; grid-auto-rows: auto !important; }
.pizza-grid img { image-rendering: pixelated; }
.pizza-sheet img { image-rendering: pixelated; width: 100% !important; height: auto !important; max-height: 80vh;
                   object-fit: contain; }
.pizza-sheet .image-container, .pizza-sheet .image-frame { width: 100% !important; height: auto !important; }
.crisp img { image-rendering: pixelated; }
/* An open ingredient list stays short, so that it never covers the buttons below it. */
.ingredient-picker ul.option-list { max-height: min(15rem, 35vh) !important; }
.status:empty { display: none; }
.status { color: var(--error-text-color); font-weight: 600; }
/* The sheet starts below its label and toolbar, which covered its corners. */
.pizza-sheet .image-container { padding-top: 2.25rem; }
/* Menu pictures: below the gallery's label, each caption whole and under its pizza, not over it. */
.menu-grid .grid-container { padding-top: 2.5rem !important; }
.menu-grid .thumbnail-item { display: flex !important; flex-direction: column; height: auto !important;
                             aspect-ratio: auto !important; overflow: visible !important; }
.menu-grid .thumbnail-item img { width: 100% !important; height: auto !important; aspect-ratio: 1; }
.menu-grid .caption-label { position: static !important; max-width: none !important; white-space: normal !important;
                            overflow: visible !important; text-overflow: clip !important; background: none !important;
                            border: none !important; padding: 2px 0 0 !important; margin: 0 !important;
                            font-size: 11px; line-height: 1.2; text-align: center; }
/* A long model name ends in "..." before the dropdown's arrow instead of running under it. */
input[role=combobox] { text-overflow: ellipsis; }
.secondary-wrap:has(.icon-wrap) input[role=combobox] { padding-right: 1.75rem; }
@media (max-width: 640px) {
  #create-results { order: -1; }  /* on a phone the pizzas come first, the controls below */
  .menu-grid .grid-container { grid-template-columns: repeat(4, minmax(0, 1fr)) !important; }
}
"""

# Keys, in the page. Enter in a slider's number box lets go of the slider (gradio sends "release" on
# blur), which redraws. Enter in an ingredient picker takes the match the list shows first (the
# highlighted one), once the list has caught up with the typing; only text that matches nothing is
# added as typed, for the recipe check to name with suggestions.
JS = """
() => document.addEventListener("keydown", event => {
  const box = event.target;
  if (event.key !== "Enter" || !box.matches || event.passThrough) return;
  if (box.matches("input[type=number][aria-label^='number input for']")) {
    box.blur();
    return;
  }
  if (!box.matches("input[role=combobox]") || !box.closest(".ingredient-picker") || !box.value.trim()) return;
  event.preventDefault();
  event.stopImmediatePropagation();
  requestAnimationFrame(() => setTimeout(() => {
    const list = document.getElementById(box.getAttribute("aria-controls"));
    const options = list ? [...list.querySelectorAll("li[role=option]")] : [];
    const option = options.find(o => o.classList.contains("active")) || options[0];
    if (!option) {
      const again = new KeyboardEvent("keydown", {key: "Enter", bubbles: true, cancelable: true});
      again.passThrough = true;
      box.dispatchEvent(again);
    } else if (option.getAttribute("aria-selected") !== "true") {
      option.dispatchEvent(new MouseEvent("mousedown", {bubbles: true, cancelable: true}));
    } else {  // already picked: nothing to add
      box.value = "";
      box.dispatchEvent(new Event("input", {bubbles: true}));
    }
  }, 0));
}, true)
"""




def scroll_to(selector: str, status: str) -> str:
    """JavaScript run when an event's pictures have arrived: on a narrow screen (results and controls
    stacked) bring ``selector`` into view, again once its new pictures have loaded and taken their
    size, unless the ``status`` line has a message to read."""
    return f"""() => {{
  if (window.innerWidth >= 1024 || document.querySelector({status!r})?.textContent.trim()) return;
  const show = () => document.querySelector({selector!r})?.scrollIntoView({{block: "start"}});
  setTimeout(() => {{
    show();
    document.querySelectorAll({selector!r} + " img").forEach(img => {{
      if (!img.complete) img.addEventListener("load", show, {{once: true}});
    }});
  }}, 0);
}}"""


# --------------------------------------------------------------------------- helpers


def model_choices(shelf: dict[str, PizzaModel], capability: str) -> list[tuple[str, str]]:
    """(label, folder) of the models on ``shelf`` that have ``capability`` ("draws", "encodes",
    "classifies"), labelled ones first in ``LABELS`` order, then the rest by name."""
    able = [name for name, model in shelf.items() if getattr(model, capability)]
    ordered = [name for name in LABELS if name in able] + sorted(name for name in able if name not in LABELS)
    return [(LABELS.get(name, name), name) for name in ordered]


def portions(picked: Optional[Sequence[str]], doubled: Optional[Sequence[str]]) -> list[str]:
    """The recipe of the two pickers: each picked ingredient once, a doubled one twice (typed names
    such as "HAM" or "ветчина" count as the ingredient they name). Types and sizes are checked first."""
    picked, doubled = recipe_names(list(picked or [])), recipe_names(list(doubled or []))
    chosen = {_key(name) for name in picked}
    return picked + [d for d in doubled for _ in range(1 if _key(d) in chosen else 2)]


def _key(name: str) -> str:
    try:
        return DEFAULT_VOCABULARY.ingredients[DEFAULT_VOCABULARY.index(name)].id
    except ValueError:  # unknown: parse_recipe will name it with suggestions
        return name


def resolve_typed(values: Optional[list]) -> list:
    """A picker's chips with typed text turned into the ingredient the search list shows first for
    it ("tomato" -> tomato_sauce, "пепперони" -> pepperoni, "HAM" -> ham); text that names nothing
    stays, for the recipe check to refuse with suggestions."""
    resolved = []
    for value in values or []:
        if isinstance(value, str) and value not in DEFAULT_VOCABULARY.ids and len(value) <= 64:
            value = next(iter(DEFAULT_VOCABULARY.matches(value, close=False)), value)
        resolved.append(value)
    return list(dict.fromkeys(resolved))  # a typed duplicate of a chip is one chip


def picked_as_shown(values: Any) -> Any:
    """A picker's value as the page means it: text typed and entered becomes what it names
    (``resolve_typed``), so that no raw chip ever reaches a model; anything else is left for the checks."""
    if isinstance(values, list) and all(isinstance(value, str) for value in values):
        return resolve_typed(values)
    return values


def resolve_on_leave(values: Optional[list]):
    """``resolve_typed`` for a picker the user leaves: no update when nothing typed needs resolving, so
    that an answer arriving after the next pick never takes that pick back."""
    resolved = resolve_typed(values)
    return gr.skip() if resolved == list(values or []) else resolved


def menu_example(recipe: str) -> list[list[str]]:
    """A menu recipe as the pickers' values: [picked, doubled]."""
    ids = parse_recipe(recipe).portions
    return [sorted(set(ids), key=ids.index), sorted({i for i in ids if ids.count(i) > 1})]


def _log_refusal(where: str, error: BaseException, first_line: bool = False) -> None:
    """One line in the server's log per refused request: what was refused and why, no traceback."""
    text = str(error).strip().splitlines()[0] if first_line and str(error).strip() else str(error)
    print(f"refused {where}: {' '.join(text.split())[:300]}", file=sys.stderr, flush=True)


class _OneLineRefusals:
    """gradio's ``traceback`` module as its queue and routes see it: a request gradio refuses before
    the app sees it (a file that was not uploaded, missing values, a malformed file payload) is one
    line in the log, not a 26-line traceback; an error raised in the app's own code keeps its traceback."""

    OURS = (str(Path(__file__).resolve()), str(Path(pipeline.__file__).resolve().parent))

    def __getattr__(self, name: str) -> Any:
        return getattr(traceback, name)

    def print_exc(self, *args, **kwargs) -> None:
        error = sys.exc_info()[1]
        frames = traceback.extract_tb(error.__traceback__) if error is not None else []
        if error is None or any(frame.filename.startswith(self.OURS) for frame in frames):
            traceback.print_exc(*args, **kwargs)
        else:
            _log_refusal("request", error, first_line=True)


def quiet_refusals() -> None:
    """Install ``_OneLineRefusals`` where gradio prints its tracebacks."""
    import gradio.queueing
    import gradio.routes

    gradio.queueing.traceback = gradio.routes.traceback = _OneLineRefusals()


def refusing(fn: Callable, api_name: str = "request") -> Callable:
    """``fn`` with a ``ValueError`` turned into a ``gr.Error`` (a message, never a traceback) and one log line."""
    @functools.wraps(fn)
    def wrapped(*args):
        try:
            return fn(*args)
        except ValueError as error:
            _log_refusal(f"/{api_name}", error)
            raise gr.Error(str(error), print_exception=False) from None
    return wrapped


Limit = tuple[Any, str, float, float, bool]  # (number field, what it is, lowest, highest, whole)


def showing(fn: Callable, inputs: Sequence, outputs: int, limits: Sequence[Limit] = (),
            on_error: Optional[dict[int, Any]] = None, where: str = "page") -> Callable:
    """``fn`` for the page. Each field of ``limits`` (one of ``inputs``) is clamped into its range first
    and shown as clamped (a typed seed of -1 draws with 0). Returns ``fn``'s ``outputs`` values, the
    clamped fields' values and "" for the status line; on a ``ValueError``, the pictures left as
    they are (but the outputs named in ``on_error``, set to their value there) and the message in
    the status line."""
    at = [(next(i for i, field in enumerate(inputs) if field is limit[0]), *limit[1:]) for limit in limits]

    @functools.wraps(fn)
    def wrapped(*args):
        args, shown = list(args), []
        try:
            for i, what, low, high, whole in at:
                value = pipeline.clamp(args[i], what, low, high, whole)
                shown.append(gr.skip() if value == args[i] else value)
                args[i] = value
            result = fn(*args)
        except ValueError as error:
            _log_refusal(where, error)
            kept = [(on_error or {}).get(i, gr.skip()) for i in range(outputs)]
            return (*kept, *[gr.skip()] * len(at), f"⚠ {error}")
        return (*(result if outputs > 1 else (result,)), *shown, "")
    return wrapped


def wire(trigger, fn: Callable, inputs: list, outputs: list, status, api_name: str, limits: Sequence[Limit] = (),
         on_error: Optional[dict[int, Any]] = None, page_fn: Optional[Callable] = None,
         **kwargs) -> tuple[Callable, list]:
    """``trigger`` runs ``fn`` in the page (errors in ``status``, out-of-range numbers clamped); a hidden
    twin serves ``/api_name``, refusing what is out of range. Neither lets gradio preprocess: ``fn``
    checks every value (pipeline.check_*), so a bad one gets a message and one log line, never a
    traceback. ``page_fn``, when given, is what the page runs instead of ``fn``. Returns the page's
    function, outputs and event, for more triggers."""
    kwargs.setdefault("concurrency_id", "model")
    kwargs["preprocess"] = False
    gr.Button(visible=False).click(refusing(fn, api_name), inputs, outputs, api_name=api_name, **kwargs)  # owns the name
    page = showing(page_fn or fn, inputs, len(outputs), limits, on_error, f"/{api_name} (page)")
    page_outputs = [*outputs, *(limit[0] for limit in limits), status]
    event = trigger(page, inputs, page_outputs, api_visibility="private", **kwargs)
    return page, page_outputs, event


def uploaded(payload: Any) -> tuple[str, str]:
    """(path, display name) of a photo sent to an endpoint: only the file gradio stored (checked to
    be an upload) is read, never a ``data:`` URL or anything else the request carries."""
    path = payload.get("path") if isinstance(payload, dict) else payload
    if not isinstance(path, str) or not path:
        raise ValueError("upload a photo of a pizza (JPEG, PNG, WebP or GIF)")
    name = payload.get("orig_name") if isinstance(payload, dict) else None
    return path, Path(name if isinstance(name, str) and name else path).name[:80]


# --------------------------------------------------------------------------- tabs


def drawer(shelf: dict[str, PizzaModel], name: Any) -> PizzaModel:
    """The model ``name`` on the shelf if it draws (any of them, listed or not: an API client may ask
    for one the menus list once under another name)."""
    if not isinstance(name, str) or name not in shelf or not shelf[name].draws:
        known = ", ".join(n for n, model in shelf.items() if model.draws)
        raise ValueError(f"unknown model {name!r}; choose one of {known}")
    return shelf[name]


def create_tab(shelf: dict[str, PizzaModel], choices: list[tuple[str, str]]) -> None:
    """Create: ingredients, noise, seed and count in; a sheet of pizzas out (rows of four)."""
    default = choices[0][1]

    def create(picked, doubled, noise, seed, count, name):
        model = drawer(shelf, name)
        count = pipeline.check_whole(count, "the number of pizzas", 1, MAX_PIZZAS)
        pizzas = pipeline.generate(model, [portions(picked, doubled)], n=count, seed=seed, noise=noise)
        return pipeline.sheet(pizzas, columns=SHEET_COLUMNS)  # one small file; the page enlarges it

    with gr.Row():
        with gr.Column(scale=1, min_width=300):
            picked = gr.Dropdown(INGREDIENT_CHOICES, value=DEFAULT_RECIPE, multiselect=True, allow_custom_value=True,
                                 label="Ingredients", elem_id="ingredients", elem_classes="ingredient-picker",
                                 info="Type an English or Russian name; at most 9 portions.")
            doubled = gr.Dropdown(INGREDIENT_CHOICES, value=[], multiselect=True, allow_custom_value=True,
                                  label="Double portion of", elem_id="doubled",
                                  elem_classes="ingredient-picker")
            noise = gr.Slider(0, NOISE_MAX, value=1, step=0.05, label="Variety (latent noise)", elem_id="noise",
                              info="0: the model's typical pizza for the recipe, so every pizza is the same; "
                                   "1: as varied as in training; higher strays further.")
            with gr.Row():
                seed = gr.Number(0, label="Seed", info=f"0 to {SEED_MAX}; the same seed gives the same pizzas",
                                 precision=0, scale=3, elem_id="seed")
                dice = gr.Button("Random seed", scale=1, min_width=80)
            count = gr.Slider(1, MAX_PIZZAS, value=4, step=1, label="Pizzas", elem_id="count")
            model = gr.Dropdown(choices, value=default, label="Model", elem_id="create-model")
            button = gr.Button("Generate", variant="primary", elem_id="generate")
            status = gr.Markdown("", elem_id="create-status", elem_classes="status")
        with gr.Column(scale=2, min_width=300, elem_id="create-results"):
            # Drawn once at start: the page comes with its first pizzas, no round trip. One sheet of
            # up to 16 pizzas at the model's resolution, enlarged by the browser as crisp squares.
            first = create(DEFAULT_RECIPE, [], 1.0, 0, 4, default)
            gallery = gr.Image(first, label="Pizzas", format="png", interactive=False, elem_id="pizzas",
                               elem_classes="pizza-sheet")
    examples = gr.Examples([menu_example(recipe) for recipe in MENU.values()], inputs=[picked, doubled],
                           example_labels=list(MENU), label="From the real menu", examples_per_page=len(MENU))
    for picker in (picked, doubled):  # Enter adds typed text as is; leaving the box turns it into what it names
        picker.blur(resolve_on_leave, picker, picker, queue=False, api_visibility="private", show_progress="hidden")
    inputs = [picked, doubled, noise, seed, count, model]
    limits = [(noise, "the latent noise", 0, NOISE_MAX, False), (seed, "the seed", 0, SEED_MAX, True),
              (count, "the number of pizzas", 1, MAX_PIZZAS, True)]
    def create_in_page(picked, doubled, *rest):
        return create(picked_as_shown(picked), picked_as_shown(doubled), *rest)

    page, outputs, drawn = wire(button.click, create, inputs, [gallery], status, "generate", limits=limits,
                                page_fn=create_in_page)
    drawn.then(None, js=scroll_to("#pizzas", "#create-status"), api_visibility="private")
    # The slider redraws once, when let go (or a typed value is entered), not at every step of a drag.
    redraw = dict(api_visibility="private", concurrency_id="model", preprocess=False)
    noise.release(page, inputs, outputs, trigger_mode="always_last", **redraw)
    dice.click(lambda: random.randrange(SEED_MAX), None, seed, queue=False, api_visibility="private").then(
        page, inputs, outputs, **redraw)
    examples.load_input_event.then(page, inputs, outputs, **redraw)  # a menu pizza is drawn as it is picked


def restyle_tab(shelf: dict[str, PizzaModel]) -> None:
    """Restyle: a photo in, its guessed recipe (with confidences), and the photo redrawn with another."""
    encoders = model_choices(shelf, "encodes")
    classifiers = [name for _, name in model_choices(shelf, "classifies")]
    classifier = shelf["judge"] if "judge" in classifiers else shelf[classifiers[0]] if classifiers else None

    def read_photo(file, crop):
        if not isinstance(crop, bool):
            raise ValueError(f"crop must be true or false, not {crop!r}")
        path, name = uploaded(file)
        try:
            photo, (width, height) = pipeline.read_photo(path, name=name)
        finally:
            _forget_upload(path)
        if photo.size != (width, height):
            gr.Info(f"Downscaled the {width}x{height} photo to {photo.width}x{photo.height}.")
        guess, confidence = [], {}
        if classifier is not None:
            view = pipeline.crop_to_disc(photo) if crop else photo
            guess = list(pipeline.guess_recipe(classifier, view).ingredients)
            confidence = {DEFAULT_VOCABULARY.ingredients[DEFAULT_VOCABULARY.index(i)].name: p
                          for i, p in pipeline.ingredient_probabilities(classifier, view).items()}
        return photo, guess, guess, None, confidence

    def restyle(photo, crop, source, target, name, noise, seed):
        if name not in shelf or not shelf[name].encodes:
            raise ValueError(f"restyling needs a model with an encoder: one of {', '.join(n for _, n in encoders)}")
        if not isinstance(crop, bool):  # gradio does not preprocess: every value is checked here
            raise ValueError(f"crop must be true or false, not {crop!r}")
        source, target = recipe_names(source or []), recipe_names(target or [])
        path, label = uploaded(photo)
        image, _ = pipeline.read_photo(path, name=label)
        view = pipeline.crop_to_disc(image) if crop else image
        reconstruction, result = pipeline.restyle(shelf[name], view, source, target, seed=seed, noise=noise)
        return pipeline.enlarge(view, SHOWN_SIDE), pipeline.model_view(shelf[name], view), reconstruction, result

    gr.Markdown("Upload a pizza photo; the classifier proposes its recipe (edit it), pick a target recipe, and the "
                "model encodes the photo with the first and decodes it with the second.")
    with gr.Row():
        with gr.Column(min_width=300):
            upload = gr.File(label="Your pizza photo", file_types=["image"], elem_id="upload")
            # A file path, never decoded by gradio: restyle reads it with the same safe reader as uploads.
            photo = gr.Image(label="Photo", type="filepath", image_mode=None, interactive=False, elem_id="photo",
                             format="png", height=SHOWN_SIDE)
            crop = gr.Checkbox(True, label="Crop to the pizza's disc (as the 20 real photos are framed)")
        with gr.Column(min_width=300):
            confidence = gr.Label(label="What the classifier sees (probability per ingredient; 50% and up is "
                                  "guessed)", num_top_classes=9, elem_id="confidence")
            source = gr.Dropdown(INGREDIENT_CHOICES, multiselect=True, allow_custom_value=True,
                                 label="Its recipe (guessed: check it)", elem_id="source",
                                 elem_classes="ingredient-picker")
            target = gr.Dropdown(INGREDIENT_CHOICES, multiselect=True, allow_custom_value=True,
                                 label="Target recipe", elem_id="target",
                                 elem_classes="ingredient-picker")
            names = [name for _, name in encoders]
            model = gr.Dropdown(encoders, value=PHOTO_MODEL if PHOTO_MODEL in names else names[0] if names else None,
                                label="Model", info="A real photo reads best with the photo model.")
            noise = gr.Slider(0, NOISE_MAX, value=0, step=0.05, label="Variety (latent noise)",
                              info="0: the faithful reading of the photo; higher strays further.")
            seed = gr.Number(0, label="Seed", info=f"0 to {SEED_MAX}", precision=0)
            button = gr.Button("Restyle", variant="primary", elem_id="restyle", interactive=bool(encoders))
            status = gr.Markdown("", elem_id="restyle-status", elem_classes="status")
    gr.Markdown(f"All four at {SHOWN_SIDE} px, each model pixel a square. **Input**: your photo as cropped. "
                "**Model view**: what the encoder reads, at the model's size. **Reconstruction**: decoded with its "
                "own recipe. **Restyled**: decoded with the target recipe.")
    with gr.Row(elem_classes="crisp", elem_id="restyle-results"):
        shown = dict(format="png", height=SHOWN_SIDE, width=SHOWN_SIDE, interactive=False, min_width=160)
        outputs = [gr.Image(label="Input", elem_id="input-view", **shown),
                   gr.Image(label="Model view", elem_id="model-view", **shown),
                   gr.Image(label="Reconstruction", elem_id="reconstruction", **shown),
                   gr.Image(label="Restyled", elem_id="restyled", **shown)]
    for picker in (source, target):
        picker.blur(resolve_on_leave, picker, picker, queue=False, api_visibility="private", show_progress="hidden")
    # A refused file leaves the upload box (index 3 of the outputs) empty for the next one.
    wire(upload.upload, read_photo, [upload, crop], [photo, source, target, upload, confidence], status, "read_photo",
         on_error={3: None})
    # gradio neither decodes the photo nor follows a data: URL; `uploaded` and pipeline.read_photo
    # check everything, numbers included (pipeline.check_seed, check_noise).
    def restyle_in_page(photo, crop, source, target, *rest):
        return restyle(photo, crop, picked_as_shown(source), picked_as_shown(target), *rest)

    *_, restyled = wire(button.click, restyle, [photo, crop, source, target, model, noise, seed], outputs, status,
                        "restyle", page_fn=restyle_in_page,
                        limits=[(noise, "the latent noise", 0, NOISE_MAX, False), (seed, "the seed", 0, SEED_MAX, True)])
    restyled.then(None, js=scroll_to("#restyle-results", "#restyle-status"), api_visibility="private")


def menu_tab(shelf: dict[str, PizzaModel], choices: list[tuple[str, str]]) -> None:
    """Menu: one pizza per ingredient, and an interpolation strip between two menu pizzas."""

    def menu(name, seed, noise):  # kept per (model, seed, noise): asked again, it answers at once
        return pipeline.single_ingredient_menu(drawer(shelf, name), seed=seed, noise=noise)

    def morph(start, end, name, seed, steps):
        if not isinstance(start, str) or not isinstance(end, str) or start not in MENU or end not in MENU:
            raise ValueError(f"cannot interpolate: pick two pizzas of the menu ({', '.join(MENU)})")
        steps = pipeline.check_whole(steps, "the number of steps", 2, 12)
        return pipeline.interpolate(drawer(shelf, name), MENU[start], MENU[end], steps=steps, seed=seed)

    with gr.Row():
        model = gr.Dropdown(choices, value=choices[0][1], label="Model", elem_id="menu-model")
        seed = gr.Number(0, label="Seed", info=f"0 to {SEED_MAX}", precision=0)
        noise = gr.Slider(0, NOISE_MAX, value=0, step=0.05, label="Variety (latent noise)",
                          info="0: each model's typical pizza")
    button = gr.Button("One pizza per ingredient", variant="primary", elem_id="menu-button")
    status = gr.Markdown("", elem_id="menu-status", elem_classes="status")
    gallery = gr.Gallery(label="Single-ingredient pizzas", columns=7, height="auto", format="png", preview=False,
                         elem_id="menu", elem_classes=["pizza-grid", "menu-grid"])
    with gr.Row():
        start = gr.Dropdown(list(MENU), value="Margherita", label="From")
        end = gr.Dropdown(list(MENU), value="Hawaiian", label="To")
        steps = gr.Slider(2, 12, value=8, step=1, label="Steps")
    morph_button = gr.Button("Interpolate", elem_id="interpolate")
    strip = gr.Gallery(label="Interpolation", columns=8, height="auto", format="png", preview=False,
                       elem_id="strip", elem_classes=["pizza-grid", "menu-grid"])
    seed_limit = (seed, "the seed", 0, SEED_MAX, True)
    # Its own queue: a kept grid never waits behind other requests' model calls (pipeline.MODEL_LOCK
    # still runs one model call at a time when a grid must be drawn).
    wire(button.click, menu, [model, seed, noise], [gallery], status, "menu", concurrency_id="menu",
         limits=[seed_limit, (noise, "the latent noise", 0, NOISE_MAX, False)])
    wire(morph_button.click, morph, [start, end, model, seed, steps], [strip], status, "interpolate",
         limits=[seed_limit, (steps, "the number of steps", 2, 12, True)])


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
        gr.Markdown("# Neural Pizzaiolo\nPick ingredients, get a pizza. Models trained on procedurally "
                    "rendered pizzas; the last one on the 20 real photos of the original experiment.")
        with gr.Tab("Create"):
            create_tab(shelf, drawers)
        with gr.Tab("Restyle"):
            restyle_tab(shelf)
        with gr.Tab("Menu"):
            menu_tab(shelf, drawers)
    # One model call at a time: on a small CPU parallel calls only share the cores (and each holds
    # its activations), so a bounded queue keeps latency fair and memory flat under load.
    app.queue(default_concurrency_limit=1, max_size=64)
    return app


# --------------------------------------------------------------------------- the upload cache


def _cache_dir() -> Path:
    return Path(os.environ.get("GRADIO_TEMP_DIR", Path(tempfile.gettempdir()) / "gradio")).resolve()


def _forget_upload(path: str) -> None:
    """Delete an uploaded file once read: uploads live in gradio's cache, never anywhere else."""
    file = Path(path).resolve()
    if _cache_dir() in file.parents:
        file.unlink(missing_ok=True)


def trim_cache(root: Path, max_bytes: int) -> int:
    """Delete the oldest files under ``root`` until they take at most ``max_bytes``; the bytes freed."""
    files = []
    for file in root.rglob("*"):
        try:
            if file.is_file():
                stat = file.stat()
                files.append((stat.st_mtime, stat.st_size, file))
        except OSError:  # deleted meanwhile
            continue
    total, freed = sum(size for _, size, _ in files), 0
    for _, size, file in sorted(files):
        if total - freed <= max_bytes:
            break
        file.unlink(missing_ok=True)
        freed += size
    return freed


def _keep_trimming(root: Path, max_bytes: int, every_s: float = 5.0) -> None:
    def loop():
        while True:
            time.sleep(every_s)
            if root.is_dir():
                trim_cache(root, max_bytes)
    threading.Thread(target=loop, name="cache-trim", daemon=True).start()


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
    _keep_trimming(_cache_dir(), CACHE_BYTES)
    quiet_refusals()
    app.launch(server_name=args.host, server_port=args.port, share=args.share, show_error=True, quiet=True,
               footer_links=["api"], max_file_size="50mb", state_session_capacity=STATE_SESSIONS, css=CSS, js=JS,
               prevent_thread_lock=True)
    print(f"Neural Pizzaiolo on {app.local_url}" + (f" and {app.share_url}" if app.share_url else
                                                   " (python app.py --share for a public link)"), flush=True)
    app.block_thread()
    return 0


if __name__ == "__main__":
    sys.exit(main())

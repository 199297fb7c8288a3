"""The Restyle tab's actions: read a photo and guess its recipe, then restyle it.

Two ways to restyle: the photo edit (``photo_edit``: the photo itself, its toppings taken off and laid
on, needs the photo reader, a ``reader`` checkpoint) and a model restyle (``pipeline.restyle``: a model
with an encoder redraws the photo at its size with the target recipe).
"""

from pathlib import Path
from typing import Callable

import gradio as gr

from . import photo_edit
from .. import pipeline
from ..framing import crop_to_disc
from .filecache import forget_upload, uploaded
from ..hub import PizzaModel
from ..families.photo_reader import PhotoReader
from ..recipe import DEFAULT_VOCABULARY, recipe_names
from .shelf import model_choices

READER = "reader"  # the photo reader's checkpoint folder: guesses a photo's recipe and reads its layers
PHOTO_EDIT = "photo-edit"  # the photo itself edited, layer by layer (needs the reader)


def _say_unedited(kept: list[str], missed: list[str]) -> None:
    """Tell the page what a photo edit left as it was: what it cannot change, and toppings asked off but not found."""
    if kept:
        gr.Info("A photo edit changes toppings and drizzles only; not changed: " + ", ".join(kept) + ".")
    if missed:
        gr.Info("The reader found none of " + ", ".join(missed) + " on this photo (see its reading): nothing taken off.")


def photo_actions(shelf: dict[str, PizzaModel], examples: tuple[Path, Path], shown_side: int = 256,
                  ) -> tuple[Callable, Callable, Callable]:
    """The Restyle tab's actions on the models of ``shelf``: read an uploaded photo (and guess its recipe),
    read a try-it photo (``photo_edit.try_it_photos(*examples)``), restyle. Each checks every value it is
    sent and raises ``ValueError`` with a message for the page."""
    encoders = [name for _, name in model_choices(shelf, "encodes")]
    classifiers = [name for _, name in model_choices(shelf, "classifies")]
    preferred = [name for name in (READER, "judge") if name in classifiers] + classifiers
    classifier = shelf[preferred[0]] if preferred else None
    reader = shelf.get(READER) if isinstance(shelf.get(READER), PhotoReader) else None
    kitchen, examples = photo_edit.portion_kitchen() if reader is not None else None, photo_edit.try_it_photos(*examples)

    def guess(photo, crop):
        if not isinstance(crop, bool):
            raise ValueError(f"crop must be true or false, not {crop!r}")
        guess, confidence = [], {}
        if classifier is not None:
            view = crop_to_disc(photo) if crop else photo
            guess = list(pipeline.guess_recipe(classifier, view).ingredients)
            confidence = {DEFAULT_VOCABULARY.ingredients[DEFAULT_VOCABULARY.index(i)].name: p
                          for i, p in pipeline.ingredient_probabilities(classifier, view).items()}
        return photo, guess, guess, None, confidence

    def read_photo(file, crop):
        path, name = uploaded(file)
        try:
            photo, (width, height) = pipeline.read_photo(path, name=name)
        finally:
            forget_upload(path)
        if photo.size != (width, height):
            gr.Info(f"Downscaled the {width}x{height} photo to {photo.width}x{photo.height}.")
        return guess(photo, crop)

    def read_example(name, crop):
        if name not in examples:
            raise ValueError(f"no try-it photo named {name!r}; choose one of {', '.join(examples)}")
        return guess(pipeline.read_photo(examples[name], name=examples[name].name)[0], crop)

    def restyle(photo, crop, source, target, name, noise, seed):
        if name != PHOTO_EDIT and (name not in shelf or not shelf[name].encodes):
            raise ValueError(f"restyling needs the photo edit or a model with an encoder: one of "
                             f"{', '.join(([PHOTO_EDIT] if reader else []) + encoders)}")
        if name == PHOTO_EDIT and reader is None:
            raise ValueError(f"the photo edit needs the photo reader (a {READER!r} checkpoint)")
        if not isinstance(crop, bool):  # gradio does not preprocess: every value is checked here
            raise ValueError(f"crop must be true or false, not {crop!r}")
        source, target = recipe_names(source or []), recipe_names(target or [])
        path, label = uploaded(photo)
        image, _ = pipeline.read_photo(path, name=label)
        if name == PHOTO_EDIT:  # the whole photo, at its own size: only the edited layers change
            pipeline.check_noise(noise)
            result, reading, kept, missed = photo_edit.edit_photo(reader, image, source, target, pipeline.check_seed(seed), kitchen)
            _say_unedited(kept, missed)
            view = pipeline.model_view(reader, crop_to_disc(image))  # what the reader reads, at its size
            return photo_edit.fit_photo_image(image), view, reading, result
        view = crop_to_disc(image) if crop else image
        reconstruction, result = pipeline.restyle(shelf[name], view, source, target, seed=seed, noise=noise)
        return pipeline.enlarge(view, shown_side), pipeline.model_view(shelf[name], view), reconstruction, result
    return read_photo, read_example, restyle


__all__ = ["PHOTO_EDIT", "READER", "photo_actions"]

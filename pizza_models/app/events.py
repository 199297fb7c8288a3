"""The app's events and what they do with bad input: a message, never a traceback.

Each action of the app is wired twice (``wire``): a public endpoint for API clients, which refuses
what is out of range with a ``gr.Error`` (``refusing``), and the event in the page, which clamps typed
numbers into range, shows an error in a line under its button and keeps the last pictures
(``showing``). Every refusal is one line in the server's log (``log_refusal``), requests gradio itself
refuses included (``quiet_refusals``). A link's values reach the form through the same checks
(``link_opener``).
"""

import functools
import sys
import traceback
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import gradio as gr

from .order import picked_as_shown, read_query, resolve_typed
from ..pipeline import clamp
from ..recipe import MAX_NAMES


def log_refusal(where: str, error: BaseException, first_line: bool = False) -> None:
    """One line in the server's log per refused request: what was refused and why, no traceback."""
    text = str(error).strip().splitlines()[0] if first_line and str(error).strip() else str(error)
    print(f"refused {where}: {' '.join(text.split())[:300]}", file=sys.stderr, flush=True)


class OneLineRefusals:
    """gradio's ``traceback`` module as its queue and routes see it: a request gradio refuses before
    the app sees it (a file that was not uploaded, missing values, a malformed file payload) is one
    line in the log, not a 26-line traceback; an error raised in the app's own code (``ours``: files
    and folders; this package by default) keeps its traceback."""

    def __init__(self, ours: Sequence[str] = ()):
        self.ours = (str(Path(__file__).resolve().parents[1]), *(str(Path(path).resolve()) for path in ours))

    def __getattr__(self, name: str) -> Any:
        return getattr(traceback, name)

    def print_exc(self, *args, **kwargs) -> None:
        error = sys.exc_info()[1]
        frames = traceback.extract_tb(error.__traceback__) if error is not None else []
        if error is None or any(frame.filename.startswith(self.ours) for frame in frames):
            traceback.print_exc(*args, **kwargs)
        else:
            log_refusal("request", error, first_line=True)


def quiet_refusals(ours: Sequence[str] = ()) -> None:
    """Install ``OneLineRefusals`` where gradio prints its tracebacks."""
    import gradio.queueing
    import gradio.routes

    gradio.queueing.traceback = gradio.routes.traceback = OneLineRefusals(ours)


def refusing(fn: Callable, api_name: str = "request") -> Callable:
    """``fn`` with a ``ValueError`` turned into a ``gr.Error`` (a message, never a traceback) and one log line."""
    @functools.wraps(fn)
    def wrapped(*args):
        try:
            return fn(*args)
        except ValueError as error:
            log_refusal(f"/{api_name}", error)
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
                value = clamp(args[i], what, low, high, whole)
                shown.append(gr.skip() if value == args[i] else value)
                args[i] = value
            result = fn(*args)
        except ValueError as error:
            log_refusal(where, error)
            kept = [(on_error or {}).get(i, gr.skip()) for i in range(outputs)]
            return (*kept, *[gr.skip()] * len(at), f"⚠ {error}")
        return (*(result if outputs > 1 else (result,)), *shown, "")
    return wrapped


def wire(trigger, fn: Callable, inputs: list, outputs: list, status, api_name: str, limits: Sequence[Limit] = (),
         on_error: Optional[dict[int, Any]] = None, page_fn: Optional[Callable] = None,
         page_inputs: Optional[list] = None, page_outputs: Sequence = (), js: Optional[str] = None,
         **kwargs) -> tuple[Callable, list, Any]:
    """``trigger`` runs ``fn`` in the page (errors in ``status``, out-of-range numbers clamped); a hidden
    twin serves ``/api_name``, refusing what is out of range. Neither lets gradio preprocess: ``fn``
    checks every value (pipeline.check_*), so a bad one gets a message and one log line, never a
    traceback. The page may run ``page_fn`` instead, on ``page_inputs`` (``js`` may fill them in,
    in the browser), returning ``outputs`` then ``page_outputs``. Returns the page's function,
    outputs and event, for more triggers."""
    kwargs.setdefault("concurrency_id", "model")
    kwargs["preprocess"] = False
    gr.Button(visible=False).click(refusing(fn, api_name), inputs, outputs, api_name=api_name, **kwargs)  # owns the name
    page_inputs = inputs if page_inputs is None else page_inputs
    shown = [*outputs, *page_outputs]
    page = showing(page_fn or fn, page_inputs, len(shown), limits, on_error, f"/{api_name} (page)")
    shown += [*(limit[0] for limit in limits), status]
    event = trigger(page, page_inputs, shown, js=js, api_visibility="private", **kwargs)
    return page, shown, event


def clamped(value: Any, limit: Limit) -> Any:
    """A number as its field ``limit`` shows it: brought into range, or ``gr.skip()`` (the field left as
    it is) when it is no number."""
    try:
        return clamp(value, *limit[1:])
    except ValueError:
        return gr.skip()


def resolve_on_leave(values: Optional[list]):
    """``resolve_typed`` for a picker the user leaves: no update when nothing typed needs resolving, so
    that an answer arriving after the next pick never takes that pick back."""
    resolved = resolve_typed(values)
    return gr.skip() if resolved == list(values or []) else resolved


def link_opener(page: Callable, listed: Sequence[str], defaults: Sequence, limits: Sequence[Limit]) -> Callable:
    """The page's load event: a link's values (``?recipe=...&seed=...``) put in the form and drawn as if
    typed, with the form's own clamps and messages (``page``); a plain visit changes nothing."""
    def open_link(request: gr.Request):
        values = read_query(dict(request.query_params), defaults)
        if values is None:
            return (gr.skip(),) * 10
        sheet, link, download, *_, status = page(*values)
        picked, doubled, _, _, _, name = values
        chips = [picked_as_shown(v) if isinstance(v, list) and len(v) <= MAX_NAMES else gr.skip() for v in (picked, doubled)]
        numbers = [clamped(value, limit) for value, limit in zip(values[2:5], limits)]
        return (*chips, *numbers, name if name in listed else gr.skip(), sheet, link, download, status)
    return open_link

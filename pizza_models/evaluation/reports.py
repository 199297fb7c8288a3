"""Evaluation reports: metrics as JSON, compact Markdown tables, and ``metrics.json`` beside a checkpoint."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Iterator, Sequence, Union

import numpy as np
import torch

from ..hub import atomic_write_bytes

METRICS_NAME = "metrics.json"
DETAILS = ("protocol", "per_ingredient", "share", "reference")  # left out of the compact table; they stay in the JSON


def _plain(value):
    """JSON-ready copy: tensors and numpy scalars to Python, floats rounded to 4 decimals, inf/nan to None."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (torch.Tensor, np.ndarray, np.generic)):
        return _plain(value.tolist())
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else None
    return value


def to_json(metrics: dict) -> str:
    """Metrics as JSON: sorted keys, floats rounded to 4 decimals, non-finite numbers as null."""
    return json.dumps(_plain(metrics), sort_keys=True, indent=2, allow_nan=False, ensure_ascii=False)


def _rows(metrics: dict, prefix: str = "") -> Iterator[tuple[str, object]]:
    for key, value in metrics.items():
        if key in DETAILS:
            continue
        if isinstance(value, dict):
            yield from _rows(value, f"{prefix}{key}.")
        elif value is not None:  # a metric a model has no use for (no encoder, too few photos) is a blank cell
            yield f"{prefix}{key}", value


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}" if math.isfinite(value) else str(value)
    return str(value)


def to_markdown(*metrics: dict, names: Sequence[str] = ()) -> str:
    """A compact Markdown table of one or more metrics dicts, one column each (headed by ``names``).

    Nested keys are joined with dots; per-ingredient details, references and the protocol are
    left out, and text values (such as why the Frechet distance was skipped) become notes under
    the table.
    """
    names = list(names) or (["value"] if len(metrics) == 1 else [f"model {i + 1}" for i in range(len(metrics))])
    columns = [dict(_rows(m)) for m in metrics]
    keys = list(dict.fromkeys(k for c in columns for k, v in c.items() if not isinstance(v, str)))
    lines = ["| metric | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    lines += [f"| {k} | " + " | ".join(_cell(c.get(k)) for c in columns) + " |" for k in keys]
    notes = [f"- {name}: {k}: {v}" for name, c in zip(names, columns) for k, v in c.items() if isinstance(v, str)]
    return "\n".join(lines + ([""] + notes if notes else []))


def disagreement_table(*metrics: dict, names: Sequence[str], top: int = 10) -> str:
    """Markdown: per ingredient, the share of pizzas on which the two judges disagree, one column per model.

    Only models evaluated with a second judge count; rows are the ``top`` ingredients with the
    largest disagreement anywhere. Empty when no model has a second judge.
    """
    columns = [(name, m["judge_disagreement"]["per_ingredient"])
               for name, m in zip(names, metrics) if m.get("judge_disagreement")]
    if not columns:
        return ""
    ids = sorted(columns[0][1], key=lambda i: -max(shares[i] for _, shares in columns))[:top]
    lines = ["| judges disagree on | " + " | ".join(name for name, _ in columns) + " |",
             "|---|" + "---|" * len(columns)]
    lines += [f"| {i} | " + " | ".join(f"{shares[i]:.2f}" for _, shares in columns) + " |" for i in ids]
    return "\n".join(lines)


def write_metrics(folder: Union[str, Path], metrics: dict) -> Path:
    """Write ``metrics.json`` into a checkpoint folder, atomically (a killed run leaves the old file whole), mode 0644."""
    path = Path(folder) / METRICS_NAME
    atomic_write_bytes(path, (to_json(metrics) + "\n").encode("utf-8"))
    return path

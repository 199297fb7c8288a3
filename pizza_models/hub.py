"""Saving and loading weights: config.json + model.safetensors, strict, atomic, never a pickle.

Every model is a ``PizzaModel``: an ``nn.Module`` with huggingface_hub's ``PyTorchModelHubMixin``
whose ``__init__`` takes one frozen dataclass ``config``. The mixin writes the dataclass as
config.json, so the ingredient vocabulary and the architecture travel with the weights.
What this module adds to the mixin:

- loading checks that config.json belongs to the model family asked for, reads only
  model.safetensors (the mixin would fall back to a pickled pytorch_model.bin) and loads with
  ``strict=True`` (the mixin's default leaves renamed layers silently random);
- every failure names the file at fault;
- ``save_checkpoint`` writes through a temporary folder and ``os.replace`` so that a run killed
  mid-save leaves the previous checkpoint whole, and can store weights in float16.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional, TypeVar, Union

import safetensors.torch
import torch
from huggingface_hub import PyTorchModelHubMixin, hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError
from torch import nn

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"

M = TypeVar("M", bound="PizzaModel")


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the message names the file and the reason."""


def resolve_file(model_id: Union[str, Path], filename: str, **hub_kwargs) -> Path:
    """Path of ``filename`` in a local folder, or in the hub cache for a hub id (downloaded if allowed)."""
    if os.path.isdir(model_id):
        path = Path(model_id) / filename
        if not path.is_file():
            raise CheckpointError(f"{path}: missing; a checkpoint folder holds {CONFIG_NAME} and {WEIGHTS_NAME}")
        return path
    if os.path.exists(model_id):
        raise CheckpointError(f"{model_id}: not a checkpoint folder")
    try:
        return Path(hf_hub_download(str(model_id), filename, **hub_kwargs))
    except (EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError) as error:
        raise CheckpointError(f"{model_id}/{filename}: not found locally, in the hub cache or on the hub ({error})") from None


def read_config(model_id: Union[str, Path], **hub_kwargs) -> dict:
    """The config.json of a checkpoint folder or hub id, as a dict."""
    path = resolve_file(model_id, CONFIG_NAME, **hub_kwargs)
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CheckpointError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(config, dict) or "family" not in config:
        raise CheckpointError(f"{path}: not a Neural Pizzaiolo config (no 'family' key)")
    return config


_MODEL_CLASSES: dict[str, type["PizzaModel"]] = {}  # family name -> model class; each class registers itself


def registered() -> dict[str, type["PizzaModel"]]:
    """The model classes defined so far, by family (``registry.model_classes()`` imports the package's first)."""
    return dict(_MODEL_CLASSES)


class PizzaModel(nn.Module, PyTorchModelHubMixin):
    """Base of every network here: subclasses set ``family`` and take ``config`` (a frozen dataclass).

    A subclass that names a ``family`` registers itself (``registry.model_classes()`` lists them) and
    says what it can do:

    - ``draws``: ``sample_latent(n, generator, scale, device)`` and ``draw(z, codes)`` -> (B, 3, H, W)
      in [-1, 1], from latents and recipe codes (``config.encoding``);
    - ``encodes``: ``restyle(x, source, target, noise, generator)`` -> (reconstruction, restyled);
    - ``classifies``: ``forward(x)`` -> (B, V) ingredient logits.
    """

    family: str = ""
    draws: bool = False
    encodes: bool = False
    classifies: bool = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("family"):
            if _MODEL_CLASSES.get(cls.family, cls) is not cls:
                raise TypeError(f"two model classes claim the family {cls.family!r}: {_MODEL_CLASSES[cls.family]} and {cls}")
            _MODEL_CLASSES[cls.family] = cls

    @classmethod
    def from_pretrained(cls: type[M], pretrained_model_name_or_path: Union[str, Path], **kwargs) -> M:
        """Load from a local folder or a hub id (``HF_HUB_OFFLINE=1`` loads from the cache)."""
        hub_kwargs = {k: kwargs[k] for k in ("revision", "cache_dir", "force_download", "token", "local_files_only") if k in kwargs}
        config = read_config(pretrained_model_name_or_path, **hub_kwargs)
        if config["family"] != cls.family:
            raise CheckpointError(
                f"{pretrained_model_name_or_path}/{CONFIG_NAME}: a {config['family']!r} checkpoint, "
                f"not a {cls.family!r} one"
            )
        try:
            return super().from_pretrained(pretrained_model_name_or_path, **kwargs)
        except TypeError as error:  # config.json lacks or mistypes a field the dataclass needs
            raise CheckpointError(f"{pretrained_model_name_or_path}/{CONFIG_NAME}: does not describe a {cls.__name__} ({error})") from None

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: Optional[str] = None,
        cache_dir: Optional[str] = None,
        force_download: bool = False,
        local_files_only: bool = False,
        token: Union[str, bool, None] = None,
        map_location: str = "cpu",
        strict: bool = True,
        **model_kwargs,
    ):
        model = cls(**model_kwargs)
        path = resolve_file(
            model_id, WEIGHTS_NAME, revision=revision, cache_dir=cache_dir,
            force_download=force_download, local_files_only=local_files_only, token=token,
        )
        load_weights(model, path, strict=True, device=map_location)
        return model.eval()

    @property
    def config(self):
        """The frozen dataclass this model was built from."""
        return self._hub_mixin_config


def load_weights(model: nn.Module, path: Union[str, Path], strict: bool = True, device: str = "cpu") -> None:
    """Load a safetensors file into ``model`` (any float dtype; it is cast), naming the file on failure."""
    try:
        state = safetensors.torch.load_file(str(path), device=device)
    except Exception as error:  # safetensors raises its own error types for truncated or foreign files
        raise CheckpointError(f"{path}: not a readable safetensors file ({error})") from None
    try:
        model.load_state_dict(state, strict=strict)
    except RuntimeError as error:
        raise CheckpointError(f"{path}: weights do not match the model in config.json ({error})") from None


def save_checkpoint(
    model: PizzaModel, directory: Union[str, Path], half: bool = False, extra_files: Optional[dict[str, bytes]] = None,
) -> Path:
    """Write config.json and model.safetensors (float16 if ``half``) atomically into ``directory``.

    Files are written in a temporary sibling folder and moved in with ``os.replace``; the weights
    go in last but one and the config last, so a run killed at any moment leaves either the old or
    the new complete files (the config of a run does not change between saves).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob(".saving-*"):  # left by a save that was killed
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".saving-") as tmp:
        model.save_pretrained(tmp)
        if half:
            state = {k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in model.state_dict().items()}
            safetensors.torch.save_file(state, os.path.join(tmp, WEIGHTS_NAME))
        for name, data in (extra_files or {}).items():
            Path(tmp, name).write_bytes(data)
        names = sorted(os.listdir(tmp), key=lambda n: (n == CONFIG_NAME, n))
        for name in names:
            os.chmod(os.path.join(tmp, name), 0o644)  # some writers make private files; a checkpoint is shared
            os.replace(os.path.join(tmp, name), directory / name)
    return directory


def atomic_write_bytes(path: Union[str, Path], data: bytes) -> None:
    """Write a file through a temporary sibling and ``os.replace``: readers see old or new, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes files private; a checkpoint is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def atomic_torch_save(obj: dict, path: Union[str, Path]) -> None:
    """``torch.save`` a training state (tensors and plain values only) atomically; load it with ``weights_only=True``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


__all__ = [
    "CheckpointError", "PizzaModel", "registered", "read_config", "resolve_file", "load_weights",
    "save_checkpoint", "atomic_write_bytes", "atomic_torch_save", "CONFIG_NAME", "WEIGHTS_NAME",
]

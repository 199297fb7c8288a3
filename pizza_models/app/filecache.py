"""The app's files on disk: uploads (read once, then deleted), pictures made to be downloaded, and
the cap on what the cache folder holds.

Everything lives in gradio's cache folder (``GRADIO_TEMP_DIR``); nothing is written anywhere else.
"""

import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

TAKEAWAY = "takeaway"  # the cache's sub-folder of pictures made to be downloaded


def cache_dir() -> Path:
    """gradio's cache folder, where uploads land and pictures are served from."""
    return Path(os.environ.get("GRADIO_TEMP_DIR", Path(tempfile.gettempdir()) / "gradio")).resolve()


def uploaded(payload: Any) -> tuple[str, str]:
    """(path, display name) of a photo sent to an endpoint: only the file gradio stored (checked to
    be an upload) is read, never a ``data:`` URL or anything else the request carries."""
    path = payload.get("path") if isinstance(payload, dict) else payload
    if not isinstance(path, str) or not path:
        raise ValueError("upload a photo of a pizza (JPEG, PNG, WebP or GIF)")
    name = payload.get("orig_name") if isinstance(payload, dict) else None
    return path, Path(name if isinstance(name, str) and name else path).name[:80]


def forget_upload(path: str) -> None:
    """Delete an uploaded file once read: uploads live in gradio's cache, never anywhere else."""
    file = Path(path).resolve()
    if cache_dir() in file.parents:
        file.unlink(missing_ok=True)


def takeaway(name: str) -> Path:
    """A fresh path named ``name`` (made safe: letters, digits, "-", "_", ".") for a picture to be
    downloaded, in a folder of its own so that two requests never share a file."""
    folder = cache_dir() / TAKEAWAY
    folder.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(dir=folder)) / re.sub(r"[^A-Za-z0-9_.-]+", "-", name)[:100]


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


def forget_old(root: Path, max_age_s: float) -> None:
    """Delete the files and then the empty folders under ``root`` older than ``max_age_s``: gradio
    serves its own copy of each, so the originals are needed only while a request runs."""
    oldest = time.time() - max_age_s
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):  # files before folders
        try:
            if path.stat().st_mtime < oldest:
                if path.is_dir():
                    path.rmdir()
                else:
                    path.unlink()
        except OSError:  # deleted meanwhile, or a folder not yet empty
            continue


def keep_trimming(root: Path, max_bytes: int, max_age_s: float, every_s: float = 5.0) -> None:
    """Every ``every_s`` seconds, in a daemon thread: ``trim_cache`` of ``root`` and ``forget_old``
    of its take-away pictures."""
    def loop():
        while True:
            time.sleep(every_s)
            if root.is_dir():
                trim_cache(root, max_bytes)
                forget_old(root / TAKEAWAY, max_age_s)
    threading.Thread(target=loop, name="cache-trim", daemon=True).start()

"""``--push-to-hub user/name``: upload a finished run folder to the Hugging Face Hub.

The folder gets a model card (README.md) first, then everything a user of the model needs goes up
in one commit: config.json, model.safetensors, the card, samples.png, progress.gif, losses.png,
losses.csv and metrics.json where present. The training state, the per-step sample grids, the
--keep-every weights and hidden temporaries of interrupted saves stay local.

Authentication is huggingface_hub's own: the HF_TOKEN variable or ``hf auth login``. HF_ENDPOINT
points it at another hub (the tests run a small local one).
"""

from pathlib import Path

import httpx2  # huggingface_hub's HTTP client: its connection errors are not OSErrors
from huggingface_hub import HfApi, constants, get_token

from pizza_models.hub import CONFIG_NAME, WEIGHTS_NAME

from . import artifacts
from .checkpoints import KEPT, STATE, saved_state

# fnmatch patterns on paths relative to the folder; "*" crosses "/", so ".*" also covers the files
# inside a ".saving-*" folder left by a killed save, and the ".name.XXXX" atomic-write temporaries.
IGNORE = [STATE, ".*", f"{artifacts.SAMPLES}/", f"{KEPT}/"]


class PushError(RuntimeError):
    """The upload failed (no token, no network, refused by the hub); the run folder is untouched."""


def push(folder: Path, repo_id: str, hp, command: str) -> str:
    """Upload the checkpoint in ``folder`` to the hub model repo ``repo_id`` (created if needed).

    ``hp`` is the run's ``Hyper`` (or a dict of it) and ``command`` the command line that trained
    it; both go into the model card. Returns the repo URL. Raises ``PushError`` with a one-line
    reason when there is no token or the hub cannot be reached or refuses the upload.
    """
    folder = Path(folder)
    for name in (CONFIG_NAME, WEIGHTS_NAME):
        if not (folder / name).is_file():
            raise PushError(f"{folder / name}: missing; nothing to push")
    if not get_token():
        raise PushError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (the checkpoint stays in "
                        f"{folder})")
    artifacts.write_model_card(folder, hp, command, steps=saved_state(folder).get("step"))
    api = HfApi()
    try:
        url = api.create_repo(repo_id, exist_ok=True)
        api.upload_folder(repo_id=repo_id, folder_path=folder, ignore_patterns=list(IGNORE),
                          commit_message=f"Upload {folder.name} from Neural Pizzaiolo")
    except (OSError, ValueError, httpx2.HTTPError) as error:
        # Hub errors carry the server's message on their first line; the rest is request ids and hints.
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise PushError(f"upload to {repo_id} on {constants.ENDPOINT} failed: {reason}") from None
    return str(url)

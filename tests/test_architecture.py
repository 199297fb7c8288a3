"""The shape of the code: loading a checkpoint imports the networks only, no module imports itself back
through others (the registries' own imports counted), and the training package stays in small pieces."""

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pizza_models.registry import family_modules

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pizza_models", "train")
KITCHEN = {"pizza_models.kitchen", "pizza_models.kitchen.procedural", "pizza_models.kitchen.shapes", "pizza_models.kitchen.painted"}
EVALUATION = {"pizza_models.evaluation", "pizza_models.evaluation.evaluate", "pizza_models.evaluation.protocol",
              "pizza_models.evaluation.metrics", "pizza_models.evaluation.cas", "pizza_models.evaluation.references",
              "pizza_models.evaluation.reports", "pizza_models.evaluation.photo_measures"}
LOAD = """
import json, sys
from pizza_models.pipeline import load
models = [type(load(folder)).__name__ for folder in sys.argv[1:]]
print(json.dumps({"models": models, "modules": sorted(sys.modules)}))
"""


def test_loading_any_checkpoint_imports_no_kitchen_evaluation_or_training_module():
    folders = sorted(str(p.parent) for p in [*ROOT.glob("checkpoints/*/config.json"), *ROOT.glob("models/*/config.json")])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    result = subprocess.run([sys.executable, "-c", LOAD, *folders], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    assert len(loaded["models"]) == len(folders) >= 8
    modules = set(loaded["modules"])
    assert not modules & (KITCHEN | EVALUATION), sorted(modules & (KITCHEN | EVALUATION))
    assert not any(m == "train" or m.startswith("train.") for m in modules)


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """The project modules ``path`` imports, anywhere in it but under ``if TYPE_CHECKING:``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    hidden = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
              for n in ast.walk(node)}
    name = module_name(path)
    package, found = name if path.name == "__init__.py" else name.rsplit(".", 1)[0], set()
    for node in ast.walk(tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            above = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            base = (above + ("." + node.module if node.module else "")) if node.level else node.module
            found.update([base, *(f"{base}.{alias.name}" for alias in node.names)])
    return found


def import_graph() -> dict[str, set[str]]:
    """Project module -> the project modules it imports, with what each registry imports by itself:
    the model registry, the modules that define a family; the trainer registry, the train package.
    Importing a module of a subpackage runs the subpackage's ``__init__`` first: counted too."""
    paths = {module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}
    graph = {m: {i for i in imported(p) if i in paths and i != m} for m, p in paths.items()}
    for m in graph:
        parents = {".".join(i.split(".")[:k]) for i in graph[m] for k in range(2, i.count(".") + 1)}
        graph[m] |= {p for p in parents if p in paths and p != m and not m.startswith(p + ".")}
    graph["pizza_models.registry"] |= set(family_modules())
    graph["train.registry"] |= {m for m in paths if m.startswith("train.") and not m.split(".")[-1].startswith("_")}
    graph["train.registry"].discard("train.registry")
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state, path = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        path.append(node)
        for after in sorted(graph[node]):
            if state.get(after) == "open":
                found.append(path[path.index(after):] + [after])
            elif after not in state:
                visit(after)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_no_module_imports_itself_back():
    graph = import_graph()
    assert graph["train.registry"] and graph["pizza_models.registry"]
    assert cycles(graph) == []


def test_the_registry_finds_the_families_in_their_subpackage_only():
    found = family_modules()
    assert found and all(m.startswith("pizza_models.families.") for m in found)
    assert {"pizza_models.families.layered", "pizza_models.families.cvae", "pizza_models.families.gan"} <= set(found)
    assert "pizza_models.families.blocks" not in found


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c", "a"]]


SOURCES = sorted([*(ROOT / "train").glob("*.py"), *(ROOT / "pizza_models").rglob("*.py"), ROOT / "app.py"])


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_module_is_short_and_so_are_its_functions(path):
    source = path.read_text(encoding="utf-8")
    assert len(source.splitlines()) <= 400
    long = [(node.name, node.end_lineno - node.lineno + 1) for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 > 60]
    assert not long, long

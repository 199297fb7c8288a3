"""The model classes, by family name: what ``pipeline.load`` builds a checkpoint with.

Every ``PizzaModel`` subclass that names a ``family`` registers itself when its module is imported
(``hub.PizzaModel.__init_subclass__``), wherever that module lives. ``model_classes()`` first
imports the modules of ``pizza_models.families`` that define one, found by reading their source
rather than by importing every module: loading a checkpoint imports the networks, never the kitchen
or the evaluation. A new family is one new module in ``families/`` and no list to edit.
"""

import ast
import importlib
import pkgutil
from functools import lru_cache
from pathlib import Path

from .hub import PizzaModel, registered

__all__ = ["family_modules", "model_classes"]


def _names_a_family(cls: ast.ClassDef) -> bool:
    """Whether a class body assigns a string to ``family`` (``family = "layered"``)."""
    return any(isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Constant)
               and isinstance(statement.value.value, str)
               and any(isinstance(target, ast.Name) and target.id == "family" for target in statement.targets)
               for statement in cls.body)


@lru_cache(maxsize=None)
def family_modules(package: str = f"{__package__}.families") -> tuple[str, ...]:
    """The modules of ``package`` that define a model family, by name (their source parsed, not run)."""
    found = []
    for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
        path = Path(module.module_finder.path, f"{module.name}.py")
        if module.name.startswith("_") or not path.is_file():
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        if any(isinstance(node, ast.ClassDef) and _names_a_family(node) for node in ast.walk(tree)):
            found.append(f"{package}.{module.name}")
    return tuple(found)


def model_classes() -> dict[str, type[PizzaModel]]:
    """Every model family, by name: those of ``families/`` (their modules imported once) and any other
    ``PizzaModel`` subclass with a ``family`` already defined, e.g. in a test or a script."""
    for name in family_modules():
        importlib.import_module(name)
    return registered()

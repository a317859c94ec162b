"""Every import points to a lower layer (docs/architecture.md, "One direction of flow").

The layer table lives here, in one place. A module may import its own layer or any layer
below; an import of a higher layer fails, whether at module level or inside a function
(a lazy import is still a dependency). ``labelwise/__init__.py`` and the ``cli`` sit on top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "src" / "labelwise"

#: top-level part of labelwise -> layer; higher layers may import lower ones only
LAYERS: dict[str, int] = {
    # 0: shared plumbing, no domain knowledge
    "errors": 0, "_io": 0, "_registry": 0, "_lazy": 0, "_random": 0, "_deprecation": 0,
    # 1: datasets and the task metrics they evaluate with (pure functions over labels)
    "data": 1, "metrics": 1,
    "models": 2,
    "outputs": 3,
    # 4: selection; stopping criteria read model outputs as strategies do (beside them)
    "strategies": 4, "subsampling": 4, "stopping": 4,
    # 5: pool scoring on a cluster: strategies over shards; the learner hands its query to it
    "distributed": 5,
    "loop": 6,
    # 7: applications of the loop
    "benchmark": 7, "annotate": 7, "plasm": 7, "integrations": 7, "annotators": 7, "tuning": 7,
    # 8: entry points
    "cli": 8, "__init__": 8,
}


def part_of(module: str) -> str | None:
    """``labelwise.models.x`` -> ``models``; None for a module outside labelwise."""
    pieces = module.split(".")
    if pieces[0] != "labelwise":
        return None
    return pieces[1] if len(pieces) > 1 else "__init__"


def module_name(path: Path, root: Path = SOURCE) -> str:
    relative = path.relative_to(root.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(path: Path, root: Path = SOURCE) -> list[tuple[int, str]]:
    """``(line, module)`` for every import in the file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, target))
            # `from labelwise import models` imports the models part
            if target == "labelwise":
                found += [(node.lineno, f"labelwise.{alias.name}") for alias in node.names]
    return found


def upward_imports(path: Path, root: Path = SOURCE) -> list[str]:
    """One line per import in ``path`` of a higher layer (or of a part with no layer)."""
    own = part_of(module_name(path, root))
    mine = LAYERS[own]
    where = path.relative_to(root.parent)
    problems = []
    for line, module in imported_modules(path, root):
        other = part_of(module)
        if other is None or other == "__init__" and module == "labelwise":
            continue
        if other not in LAYERS:
            problems.append(f"{where}:{line}: {module} is in no layer of LAYERS")
        elif LAYERS[other] > mine:
            problems.append(f"{where}:{line}: {own} (layer {mine}) imports "
                            f"{module} (layer {LAYERS[other]})")
    return problems


def test_every_part_of_the_package_has_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in SOURCE.iterdir()
             if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"}
    assert parts - set(LAYERS) == set(), "add the new part to LAYERS in tests/test_layers.py"


def test_every_import_points_to_a_lower_layer():
    problems = [problem for path in sorted(SOURCE.rglob("*.py")) for problem in upward_imports(path)]
    assert problems == [], "upward imports:\n" + "\n".join(problems)


@pytest.mark.parametrize("source, upward", [
    ("from labelwise.loop import ActiveLearner\n", True),                        # module level
    ("def f():\n    from labelwise.benchmark import runner\n", True),            # inside a function
    ("from ..loop.learner import ActiveLearner\n", True),                        # relative
    ("from labelwise.errors import DataError\nimport numpy\n", False),
    ("from labelwise.data.datasets import gold_labels\n", False),
])
def test_the_checker_catches_upward_imports_of_a_strategy(tmp_path, source, upward):
    folder = tmp_path / "labelwise" / "strategies"
    folder.mkdir(parents=True)
    path = folder / "probe.py"
    path.write_text(source, encoding="utf-8")
    assert bool(upward_imports(path, tmp_path / "labelwise")) is upward

"""The package map of docs/architecture.md, guarded: imports point down the data path, and no two
packages import each other (directly or round a loop).

Every ``import`` in src/veraretouch counts, also those inside functions: a lazy import is still a
dependency at run time. A "unit" is a subpackage (``planner``) or a top-level module (``errors``).
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "veraretouch"

LAYERS: tuple[tuple[str, ...], ...] = (
    # bottom: errors and bytes on disk
    ("errors", "version"),
    ("io",),
    # LUT files, then what an edit is (the plan, its parameter registry, its files)
    ("formats",),
    ("plan",),
    # the differentiable operators, then the LUT path and slider fitting on top of them
    ("operators",),
    ("lut",),
    ("fitting",),
    # neural models
    ("pretrained", "onnx_support"),
    ("renderer", "encoders"),
    # reading photos and words, planning
    ("reasoning",),
    ("planner",),
    ("weights",),
    # scoring and export of models, training data, training
    ("evaluation", "export"),
    ("data",),
    ("training",),
    # the public Python API, then the front-ends built on it
    ("api",),
    ("cli", "web"),
    ("__init__", "__main__"),
)
"""Bottom to top: a unit may import units of its own layer or below. Units of one layer must still
not import each other round a loop (checked separately)."""

KNOWN_VIOLATIONS: frozenset[tuple[str, str]] = frozenset()
"""(importer, imported) unit pairs allowed to break the order or close a loop, each with its reason.
This list only shrinks: an entry that no longer occurs fails the test until removed."""


def unit_of(module: str) -> str:
    """``veraretouch.planner.compact`` -> ``planner``; ``veraretouch`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def module_name(path: Path, package: Path = PACKAGE) -> str:
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def folder_of(path: Path, package: Path = PACKAGE) -> str:
    """The dotted package a module file sits in (itself, for an ``__init__.py``)."""
    module = module_name(path, package)
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def import_target(node: ast.ImportFrom, folder: str) -> str:
    """The absolute module of ``from ... import``, relative levels resolved against ``folder``."""
    if not node.level:
        return node.module or ""
    base = folder.split(".")[: len(folder.split(".")) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def imported_modules(path: Path, package: Path = PACKAGE) -> set[str]:
    """Absolute names of the veraretouch modules (or names in them) that ``path`` imports."""
    folder = folder_of(path, package)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = import_target(node, folder)
            found.update(f"{target}.{alias.name}" for alias in node.names) if not node.module else found.add(target)
    return {name for name in found if name == "veraretouch" or name.startswith("veraretouch.")}


def unit_edges(package: Path = PACKAGE) -> dict[tuple[str, str], list[str]]:
    """(importer unit, imported unit) -> the importing modules."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in sorted(package.rglob("*.py")):
        source = unit_of(module_name(path, package))
        for target in imported_modules(path, package):
            imported = unit_of(target)
            if not ((package / imported).is_dir() or (package / f"{imported}.py").is_file()):
                imported = "__init__"  # a name defined in veraretouch/__init__.py, e.g. __version__
            if imported != source:
                edges.setdefault((source, imported), []).append(module_name(path, package))
    return edges


def layer_of(unit: str) -> int:
    for index, units in enumerate(LAYERS):
        if unit in units:
            return index
    raise AssertionError(f"unit {unit!r} has no layer in tests/test_layers.py LAYERS (and docs/architecture.md)")


def upward_imports(package: Path = PACKAGE) -> dict[tuple[str, str], list[str]]:
    return {edge: modules for edge, modules in unit_edges(package).items() if layer_of(edge[1]) > layer_of(edge[0])}


def cycles(package: Path = PACKAGE) -> list[list[str]]:
    """Strongly connected groups of more than one unit (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for source, target in unit_edges(package):
        graph.setdefault(source, set()).add(target)
        graph.setdefault(target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_every_unit_has_a_layer():
    units = {unit_of(module_name(path)) for path in PACKAGE.rglob("*.py")}
    for unit in units:
        layer_of(unit)


def test_no_upward_import():
    found = upward_imports()
    new = {edge: found[edge] for edge in found if edge not in KNOWN_VIOLATIONS}
    assert not new, "upward imports (importer -> imported: modules):\n" + "\n".join(
        f"{a} -> {b}: {', '.join(sorted(set(m)))}" for (a, b), m in sorted(new.items()))


def test_allow_list_only_shrinks():
    loops = cycles()
    on_loops = {edge for edge in unit_edges() if any(set(edge) <= set(group) for group in loops)}
    stale = sorted(KNOWN_VIOLATIONS - set(upward_imports()) - on_loops)
    assert not stale, f"fixed, remove from KNOWN_VIOLATIONS: {stale}"


def test_no_cycle_between_packages():
    allowed = {frozenset(edge) for edge in KNOWN_VIOLATIONS}
    loops = [group for group in cycles() if not _explained(group, allowed)]
    assert not loops, f"units that import each other round a loop: {loops}"


def _explained(group: list[str], allowed: set[frozenset[str]]) -> bool:
    """A loop is tolerated only while one of its edges is a known violation."""
    members = set(group)
    return any(edge <= members for edge in allowed)


def test_the_checks_see_a_lazy_upward_import_and_a_loop(tmp_path):
    package = tmp_path / "veraretouch"
    for folder in ("io", "planner"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "io" / "images.py").write_text("def f():\n    from ..planner.compact import CompactPlanner\n")
    (package / "planner" / "compact.py").write_text("from veraretouch.io import images\n")
    assert upward_imports(package) == {("io", "planner"): ["veraretouch.io.images"]}
    assert cycles(package) == [["io", "planner"]]


def private_imports_across_packages(package: Path = PACKAGE) -> list[str]:
    """``importer: name from module`` for each underscore name imported from another folder's module:
    a helper two packages share is public (named without the underscore) or lives lower down."""
    found = []
    for path in sorted(package.rglob("*.py")):
        module, folder = module_name(path, package), folder_of(path, package)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.ImportFrom) or node.module == "__future__":
                continue
            private = [alias.name for alias in node.names
                       if alias.name.startswith("_") and not alias.name.startswith("__")]
            if not private:
                continue
            target = import_target(node, folder)
            is_package = (package.parent / target.replace(".", "/")).is_dir()
            if (target if is_package else target.rpartition(".")[0]) != folder:
                found += [f"{module}: {name} from {target}" for name in private]
    return found


def test_no_private_name_crosses_a_package():
    assert private_imports_across_packages() == []


def test_the_private_check_sees_a_crossing(tmp_path):
    package = tmp_path / "veraretouch"
    for folder in ("text", "reasoning"):
        (package / folder).mkdir(parents=True)
        (package / folder / "__init__.py").write_text("")
    (package / "text" / "phrasing.py").write_text("def _capitalise(s):\n    return s\n")
    (package / "text" / "writer.py").write_text("from .phrasing import _capitalise\n")
    (package / "reasoning" / "explain.py").write_text("from ..text.phrasing import _capitalise\n")
    assert private_imports_across_packages(package) == [
        "veraretouch.reasoning.explain: _capitalise from veraretouch.text.phrasing"]


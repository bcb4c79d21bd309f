"""Imports inside the package go one way: no circle between its modules, and the core's layers hold.

Every module is read with ``ast`` (nothing is imported), and every import statement in it is an
edge to the package module it names: at the top, under ``if``/``try``, and inside functions too. An
import inside a function runs later, but a circle through it is still a circle a reader has to
untangle, and moving an import into a function is the usual way such a circle is hidden.

Not counted: the implicit import of parent packages (importing ``a.b.c`` first runs ``a/__init__``
and ``a/b/__init__``). Every ``__init__`` that re-exports its submodules would otherwise form a
circle with each of them; what is checked is what a module's own code asks for.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Optional, Set

import tinygrad_mnist

PACKAGE = "tinygrad_mnist"
PACKAGE_DIR = Path(tinygrad_mnist.__file__).resolve().parent

# The core, bottom up: each layer may import only itself and the layers listed for it.
CORE_LAYERS = {
    "tinygrad_mnist.autograd": {"tinygrad_mnist.autograd"},
    # errors.py imports nothing: an op may raise the user-facing ConfigError (a stride of 0).
    "tinygrad_mnist.ops": {"tinygrad_mnist.autograd", "tinygrad_mnist.ops", "tinygrad_mnist.errors"},
    "tinygrad_mnist.tensor": {"tinygrad_mnist.autograd", "tinygrad_mnist.ops", "tinygrad_mnist.rng",
                              "tinygrad_mnist.display"},
    # The notebook HTML of a tensor: a leaf that tensor.py can use, built on nothing of the package.
    "tinygrad_mnist.display": {"tinygrad_mnist.display"},
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: Dict[str, Path] = {_module_name(path): path for path in sorted(PACKAGE_DIR.rglob("*.py"))}


def _resolve(importer: str, is_package: bool, module: Optional[str], level: int) -> str:
    """The absolute name of ``from <level dots><module> import ...`` written in ``importer``."""
    if level == 0:
        return module or ""
    base = importer.split(".")
    base = base[: len(base) - level + (1 if is_package else 0)]
    return ".".join(base + ([module] if module else []))


def imports_in(source: str, importer: str, is_package: bool, modules) -> Set[str]:
    """The modules among ``modules`` that the code ``source`` of module ``importer`` imports, anywhere."""
    targets: Set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            origin = _resolve(importer, is_package, node.module, node.level)
            for alias in node.names:
                submodule = f"{origin}.{alias.name}"
                targets.add(submodule if submodule in modules else origin)
    return {target for target in targets if target in modules and target != importer}


def imports_of(name: str) -> Set[str]:
    """The package modules that module ``name`` imports, anywhere in its code."""
    path = MODULES[name]
    return imports_in(path.read_text(encoding="utf-8"), name, path.name == "__init__.py", MODULES)


GRAPH = {name: imports_of(name) for name in MODULES}


def _find_cycle(graph: Dict[str, Set[str]]) -> Optional[List[str]]:
    """One circle of ``graph`` as a list of modules (first == last), or None."""
    state: Dict[str, str] = {}  # "open" while on the current path, "done" once finished
    for start in sorted(graph):
        if start in state:
            continue
        path = [start]
        pending = [iter(sorted(graph[start]))]
        state[start] = "open"
        while pending:
            for target in pending[-1]:
                if state.get(target) == "open":
                    return path[path.index(target):] + [target]
                if target not in state:
                    state[target] = "open"
                    path.append(target)
                    pending.append(iter(sorted(graph[target])))
                    break
            else:
                state[path.pop()] = "done"
                pending.pop()
    return None


def test_the_package_has_no_import_cycle():
    cycle = _find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_cycles():
    """Control: the check above can fail."""
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_edges_are_read_from_every_kind_of_import():
    """Control: absolute, relative, submodule and function-level imports are all edges."""
    modules = {"pkg", "pkg.a", "pkg.b", "pkg.sub", "pkg.sub.c", "pkg.sub.d", "other"}
    source = (
        "import other\n"
        "from . import b\n"
        "from .sub.c import thing\n"
        "def later():\n"
        "    from .sub import d\n"
        "    import pkg.sub\n"
    )
    assert imports_in(source, "pkg.a", False, modules) == {"other", "pkg.b", "pkg.sub.c", "pkg.sub.d", "pkg.sub"}
    assert imports_in("from .c import x\nfrom .. import a", "pkg.sub", True, modules) == {"pkg.sub.c", "pkg.a"}
    assert "tinygrad_mnist.autograd.engine" in GRAPH["tinygrad_mnist.tensor"]  # from .autograd import engine


def test_the_core_imports_in_one_direction():
    """autograd knows only itself (values through the Node protocol), ops build on autograd, and
    tensor.py on both; none of them imports what is built on it."""
    wrong = []
    for name, targets in GRAPH.items():
        for layer, allowed in CORE_LAYERS.items():
            if name == layer or name.startswith(layer + "."):
                wrong += [
                    f"{name} imports {target}" for target in sorted(targets)
                    if not any(target == a or target.startswith(a + ".") for a in allowed)
                ]
    assert not wrong, "; ".join(wrong)


def _is_import_block(statement: ast.stmt) -> bool:
    """An import, or a ``try``/``if`` made of imports (an optional dependency, TYPE_CHECKING)."""
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return True
    if isinstance(statement, ast.Try):
        bodies = [statement.body, statement.orelse] + [handler.body for handler in statement.handlers]
    elif isinstance(statement, ast.If):
        bodies = [statement.body, statement.orelse]
    else:
        return False
    return all(_is_import_block(inner) or isinstance(inner, ast.Pass) for body in bodies for inner in body)


def test_imports_come_first_and_need_no_isort_skip():
    """No module imports at its bottom (the old way around a circle), and no ``# isort: skip``."""
    late = []
    for name, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        assert "isort: skip" not in source, f"{name} keeps an import out of order with '# isort: skip'"
        body = ast.parse(source).body
        if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
            body = body[1:]  # the docstring
        code_started = False
        for statement in body:
            if _is_import_block(statement):
                if code_started:
                    late.append(f"{name}:{statement.lineno}")
            else:
                code_started = True
    assert not late, "module-level imports after code: " + ", ".join(late)

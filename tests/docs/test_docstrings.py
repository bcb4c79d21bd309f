"""Every public name is documented, and its documented example runs.

The public surface is what each package exports in ``__all__``; for modules without ``__all__``
(``nn.functional``, ``nn.init``, ``errors``, ``rng`` and the ``ops`` modules) it is the functions and classes
they define without a leading underscore. Two exceptions, each for a reason: the ``Function``
subclasses in ``ops`` (``Add``, ``MatMul``, ...) are the implementations behind the documented
functional forms (``add``, ``matmul``, ...), and constants are documented by a ``#:`` comment above
them or a string below them (what the API reference shows).

* functions, classes and modules have a docstring of their own;
* public methods and properties of public classes have one, or override a documented method;
* functions and classes have a runnable example (``>>>``);
* the examples in every module's docstrings pass under doctest.
"""
from __future__ import annotations

import ast
import doctest
import functools
import importlib
import inspect
import pkgutil
import types
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

import tinygrad_mnist
from tinygrad_mnist.autograd import Function

PACKAGES_WITH_ALL = (
    "tinygrad_mnist",
    "tinygrad_mnist.autograd",
    "tinygrad_mnist.capture",
    "tinygrad_mnist.func",
    "tinygrad_mnist.nn",
    "tinygrad_mnist.optim",
    "tinygrad_mnist.data",
    "tinygrad_mnist.train",
    "tinygrad_mnist.experiments",
    "tinygrad_mnist.viz",
    "tinygrad_mnist.testing",
    "tinygrad_mnist.cli",
)
MODULES_WITHOUT_ALL = (
    "tinygrad_mnist.nn.functional",
    "tinygrad_mnist.nn.init",
    "tinygrad_mnist.errors",
    "tinygrad_mnist.rng",
    "tinygrad_mnist.ops.elementwise",
    "tinygrad_mnist.ops.compare",
    "tinygrad_mnist.ops.reduce",
    "tinygrad_mnist.ops.movement",
    "tinygrad_mnist.ops.linalg",
    "tinygrad_mnist.ops.arraylike",
    "tinygrad_mnist.ops.windows",
    "tinygrad_mnist.ops.conv",
    "tinygrad_mnist.ops.pooling",
    "tinygrad_mnist.nn.utils",
    "tinygrad_mnist.nn.normalization",
    "tinygrad_mnist.ops.axes",
    "tinygrad_mnist.ops.spelling",
    "tinygrad_mnist.ops.inplace",
    "tinygrad_mnist.ops.ufuncs",
)
# Public names allowed to lack an example or a doc comment, with the reason; the tests fail when
# one of them gains it, so these lists only shrink.
WITHOUT_EXAMPLE: Dict[str, str] = {}
UNDOCUMENTED_CONSTANTS: Dict[str, str] = {
    "tinygrad_mnist.train.CHECKPOINT_NAME": "train/ belongs to the train engineer; reported to them",
}


def _module(name: str) -> types.ModuleType:
    # importlib, not attribute access: `tinygrad_mnist.tensor` is also the name of a function.
    return importlib.import_module(name)


def _public_names() -> Iterator[Tuple[str, str, object]]:
    """(module name, public name, object) of the whole public surface, each object once."""
    seen = set()
    for module_name in PACKAGES_WITH_ALL:
        module = _module(module_name)
        for name in module.__all__:
            value = getattr(module, name)
            key = id(value) if not isinstance(value, (str, int, float, tuple, dict)) else (module_name, name)
            if key not in seen:
                seen.add(key)
                yield module_name, name, value
    for module_name in MODULES_WITHOUT_ALL:
        module = _module(module_name)
        for name, value in vars(module).items():
            if name.startswith("_") or id(value) in seen:
                continue
            if not (inspect.isfunction(value) or inspect.isclass(value)) or value.__module__ != module_name:
                continue
            if module_name.startswith("tinygrad_mnist.ops.") and inspect.isclass(value) and issubclass(value, Function):
                continue
            seen.add(id(value))
            yield module_name, name, value


PUBLIC = list(_public_names())
CALLABLES = [(m, n, v) for m, n, v in PUBLIC if inspect.isfunction(v) or inspect.isclass(v)]
CONSTANTS = [(m, n, v) for m, n, v in PUBLIC if not (inspect.isfunction(v) or inspect.isclass(v) or inspect.ismodule(v))]


def _ids(entries) -> List[str]:
    return [f"{module}.{name}" for module, name, _ in entries]


@pytest.mark.parametrize("module_name, name, value", [e for e in PUBLIC if e not in CONSTANTS], ids=_ids([e for e in PUBLIC if e not in CONSTANTS]))
def test_public_name_has_a_docstring(module_name: str, name: str, value: object) -> None:
    doc = value.__doc__ if inspect.ismodule(value) or inspect.isclass(value) else inspect.getdoc(value)
    assert doc and doc.strip(), f"{module_name}.{name} has no docstring"


def _assignment_docs(source: str) -> Dict[str, str]:
    """Top-level ``NAME = ...`` of a module mapped to its ``#:`` comment or following string."""
    tree = ast.parse(source)
    lines = source.splitlines()
    docs: Dict[str, str] = {}
    body = tree.body
    for index, node in enumerate(body):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            name = node.target.id
        else:
            continue
        comment, line = [], node.lineno - 2
        while line >= 0 and lines[line].strip().startswith("#:"):
            comment.insert(0, lines[line].strip()[2:].strip())
            line -= 1
        following = body[index + 1] if index + 1 < len(body) else None
        if comment:
            docs[name] = " ".join(comment)
        elif isinstance(following, ast.Expr) and isinstance(getattr(following, "value", None), ast.Constant) \
                and isinstance(following.value.value, str):
            docs[name] = following.value.value
    return docs


@functools.lru_cache(maxsize=None)
def _constant_docs() -> Dict[str, str]:
    docs: Dict[str, str] = {}
    for info in pkgutil.walk_packages(tinygrad_mnist.__path__, "tinygrad_mnist."):
        path = Path(_module(info.name).__file__)
        for name, doc in _assignment_docs(path.read_text(encoding="utf-8")).items():
            docs.setdefault(name, doc)
    return docs


@pytest.mark.parametrize("module_name, name, value", CONSTANTS, ids=_ids(CONSTANTS))
def test_public_constant_is_documented(module_name: str, name: str, value: object) -> None:
    documented = bool(_constant_docs().get(name))
    key = f"{module_name}.{name}"
    if key in UNDOCUMENTED_CONSTANTS:
        assert not documented, f"{key} is documented now: remove it from UNDOCUMENTED_CONSTANTS"
    else:
        assert documented, f"{key} needs a '#: ...' comment above its assignment (or a string below it)"


def _undocumented_members(cls: type) -> List[str]:
    missing = []
    for name, member in vars(cls).items():
        if name.startswith("_"):
            continue
        if isinstance(member, (staticmethod, classmethod)):
            member = member.__func__
        function = member.fget if isinstance(member, property) else member
        if not inspect.isfunction(function) or function.__doc__:
            continue
        inherited = [vars(base)[name] for base in cls.__mro__[1:] if name in vars(base)]
        inherited_doc = inherited and getattr(getattr(inherited[0], "fget", inherited[0]), "__doc__", None)
        if not inherited_doc:
            missing.append(name)
    return missing


CLASSES = [(m, n, v) for m, n, v in CALLABLES if inspect.isclass(v)]


@pytest.mark.parametrize("module_name, name, cls", CLASSES, ids=_ids(CLASSES))
def test_public_methods_have_docstrings(module_name: str, name: str, cls: type) -> None:
    missing = _undocumented_members(cls)
    assert not missing, f"{module_name}.{name}: methods/properties without a docstring: {missing}"


@pytest.mark.parametrize("module_name, name, value", CALLABLES, ids=_ids(CALLABLES))
def test_public_callable_has_an_example(module_name: str, name: str, value: object) -> None:
    has_example = ">>>" in (value.__doc__ or "")
    key = f"{module_name}.{name}"
    if key in WITHOUT_EXAMPLE:
        assert not has_example, f"{key} has an example now: remove it from WITHOUT_EXAMPLE"
    else:
        assert has_example, f"{key} has no runnable example (a '>>>' line) in its docstring"


def test_every_module_is_in_the_api_reference() -> None:
    """Each module documented here has an API page, and the API pages cover each package."""
    api = Path(__file__).resolve().parents[2] / "docs" / "api"
    text = "\n".join(p.read_text(encoding="utf-8") for p in api.glob("*.md"))
    for module_name in PACKAGES_WITH_ALL + MODULES_WITHOUT_ALL:
        assert f"::: {module_name}\n" in text, f"no '::: {module_name}' block under docs/api/"


ALL_MODULES = sorted(info.name for info in pkgutil.walk_packages(tinygrad_mnist.__path__, "tinygrad_mnist."))


@pytest.mark.parametrize("module_name", ["tinygrad_mnist"] + ALL_MODULES)
def test_docstring_examples_pass(module_name: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    monkeypatch.setenv("MPLBACKEND", "Agg")
    result = doctest.testmod(_module(module_name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {module_name} failed (see the output above)"

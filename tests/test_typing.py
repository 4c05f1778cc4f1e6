"""Types: the ``convq/_core.pyi`` stub of the C extension, ``py.typed``, and mypy on ``convq/``.

``python tests/test_typing.py`` rewrites the stub from the built extension (after a C entry
point or constant is added or removed).
"""
import ast
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STUB = os.path.join(ROOT, "convq", "_core.pyi")


def render_stub():
    """The stub's text: every function of convq._core (its docstring's first line, which
    states the call, as a comment) and every constant with its type."""
    from convq import _core
    lines = ['"""Type stub of convq._core, the C extension (written by `python tests/test_typing.py`)."""',
             "from typing import Any", ""]
    for name in sorted(n for n in dir(_core) if not n.startswith("__")):
        value = getattr(_core, name)
        if callable(value):
            doc = (value.__doc__ or "").strip().splitlines()
            if doc:
                lines.append(f"# {doc[0]}")
            lines.append(f"def {name}(*args: Any, **kwargs: Any) -> Any: ...")
        else:
            lines.append(f"{name}: {type(value).__name__}")
    return "\n".join(lines) + "\n"


def stub_names(text):
    tree = ast.parse(text)
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def test_core_stub_names_are_the_module_names():
    from convq import _core
    with open(STUB) as f:
        text = f.read()
    assert stub_names(text) == {n for n in dir(_core) if not n.startswith("__")}, \
        "convq/_core.pyi is stale: run `python tests/test_typing.py`"
    assert text == render_stub(), "convq/_core.pyi is stale: run `python tests/test_typing.py`"


def test_py_typed_is_declared_package_data():
    tomllib = pytest.importorskip("tomllib")
    assert os.path.exists(os.path.join(ROOT, "convq", "py.typed"))
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        cfg = tomllib.load(f)
    assert {"py.typed", "*.pyi"} <= set(cfg["tool"]["setuptools"]["package-data"]["convq"])
    assert "mypy" in " ".join(cfg["project"]["optional-dependencies"]["test"])


@pytest.mark.slow
def test_mypy_passes_on_the_package():
    pytest.importorskip("mypy")
    r = subprocess.run([sys.executable, "-m", "mypy", "convq"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


if __name__ == "__main__":
    with open(STUB, "w") as f:
        f.write(render_stub())
    print(f"wrote {STUB}")

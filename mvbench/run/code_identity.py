"""A method's code identity: what makes a finished cell stale when the method changes.

The identity is a hash of the method's explicit ``version`` string and of the source of its module
and of every module that module imports, recursively, from the method's own package (for the
built-ins ``mvbench.methods``; for a plugin its top package), plus :data:`SHARED_METHOD_CODE`,
the core modules that compute on a method's input. It is part of every cell key, so after any edit
to that code resume re-runs the method's cells instead of reusing results of other code.

Why a source hash and a version: the hash needs no discipline from plugin authors and cannot be
forgotten, at the price of re-running after edits that change no result (comments, docstrings);
``version`` covers what the source cannot show (e.g. a changed dependency or data file).
The harness itself is not hashed (its commit is logged as ``mvbench.git_commit``).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import sys
from functools import cache
from pathlib import Path

#: Core modules whose code changes what a method computes (input normalisation).
SHARED_METHOD_CODE = ("mvbench.data.preprocessing",)


def _module_file(name: str) -> Path | None:
    module = sys.modules.get(name)
    origin = getattr(module, "__file__", None)
    if origin is None:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
        origin = spec.origin if spec else None
    return Path(origin) if origin and origin.endswith(".py") else None


def _imported_modules(name: str, source: str) -> set[str]:
    """Names of modules (and of names that may be modules) that ``source`` imports."""
    module_file = _module_file(name)
    package = name if module_file and module_file.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = (
                importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                if node.level
                else node.module or ""
            )
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _sources(module: str) -> dict[str, str]:
    """Source of ``module`` and of what it imports from its own package, recursively."""
    package = module.rpartition(".")[0] or module
    todo, seen, out = [module, *SHARED_METHOD_CODE], set(), {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(name)
        if path is None:
            continue
        source = path.read_text(encoding="utf-8")
        out[name] = source
        todo.extend(m for m in _imported_modules(name, source) if m == package or m.startswith(package + "."))
    return out


@cache
def code_identity(method_cls: type) -> str:
    """12 hex digits identifying the code of ``method_cls`` (see module doc)."""
    h = hashlib.sha256(str(getattr(method_cls, "version", "")).encode())
    h.update(method_cls.__qualname__.encode())
    sources = _sources(method_cls.__module__)
    if method_cls.__module__ not in sources:  # defined in __main__, a notebook or a test: its own source
        try:
            sources[method_cls.__module__] = inspect.getsource(method_cls)
        except (OSError, TypeError):
            pass
    for name in sorted(sources):
        h.update(name.encode() + b"\0" + sources[name].encode() + b"\0")
    return h.hexdigest()[:12]

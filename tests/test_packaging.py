"""`make run` installs only `pyproject.toml`'s dependencies (no extras), so every library the app and
the packages import when they load must come with those; Spark may be imported only where it is used,
from its extra, which the Spark engine names when it is missing. Imports are read from the source and
the installed packages' own file lists, without importing them."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import os
import sys
import tomllib
from collections.abc import Iterable, Iterator
from importlib.machinery import PathFinder
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from setuptools import find_packages

from judges.providers import make_ask
from judges.spec import load_judge
from warehouse import engines
from warehouse.errors import CallboardError

ROOT = Path(__file__).resolve().parent.parent
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
OPTIONAL = PROJECT["project"]["optional-dependencies"]


def installed_closure(requirements: Iterable[str]) -> set[str]:
    """The distributions these requirement strings install, following each one's own requirements
    (with the extras asked for)."""
    seen: set[tuple[str, str]] = set()
    todo = [Requirement(text) for text in requirements]
    while todo:
        requirement = todo.pop()
        name = canonicalize_name(requirement.name)
        for extra in requirement.extras or {""}:
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for text in metadata.requires(name) or []:
                needed = Requirement(text)
                if needed.marker is None or needed.marker.evaluate({"extra": extra}):
                    todo.append(needed)
    return {name for name, _ in seen}


def owners() -> dict[Path, str]:
    """Every installed file, and the distribution that installed it."""
    found = {}
    for dist in metadata.distributions():
        name = canonicalize_name(dist.metadata["Name"])
        found.update((Path(os.path.normpath(dist.locate_file(file))), name) for file in dist.files or [])
    return found


def module_file(name: str) -> Path | None:
    """Where `import name` would load from, found without importing it (or its parents)."""
    search: list[str] | None = None
    parts = name.split(".")
    for depth in range(1, len(parts) + 1):
        spec = PathFinder.find_spec(".".join(parts[:depth]), search)
        if spec is None:
            return None
        if depth == len(parts):
            return Path(os.path.normpath(spec.origin)) if spec.origin else None
        search = list(spec.submodule_search_locations or [])
    return None


def product_files() -> Iterator[Path]:
    yield ROOT / "app.py"
    yield from (ROOT / "app_pages").glob("*.py")
    exclude = PROJECT["tool"]["setuptools"]["packages"]["find"]["exclude"]
    for package in find_packages(where=str(ROOT), exclude=exclude):
        yield from (ROOT / package.replace(".", "/")).glob("*.py")


def type_checking_only(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def imports(path: Path) -> Iterator[tuple[str, bool]]:
    """Each absolute import in the file and whether it runs when the module loads (not inside a
    function, not under `if TYPE_CHECKING`)."""
    def walk(node: ast.AST, at_load: bool) -> Iterator[tuple[str, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                yield from ((alias.name, at_load) for alias in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                yield child.module, at_load
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) or type_checking_only(child):
                yield from walk(child, False)
            else:
                yield from walk(child, at_load)
    yield from walk(ast.parse(path.read_text()), True)


def third_party_imports() -> Iterator[tuple[Path, str, bool]]:
    ours = {package.split(".")[0] for package in find_packages(where=str(ROOT))}
    for path in product_files():
        for name, at_load in imports(path):
            top = name.split(".")[0]
            if top not in sys.stdlib_module_names and top not in ours:
                yield path, name, at_load


def test_every_library_imported_on_load_comes_with_the_lean_install() -> None:
    lean = installed_closure(PROJECT["project"]["dependencies"])
    with_extras = lean | installed_closure(text for name, group in OPTIONAL.items() if name != "dev" for text in group)
    installed_by = owners()
    missing = []
    for path, name, at_load in third_party_imports():
        file = module_file(name)
        dist = installed_by.get(file) if file else None
        allowed = lean if at_load else with_extras
        if dist not in allowed:
            missing.append(f"{path.relative_to(ROOT)} imports {name} (from {dist or 'nowhere'})")
    assert missing == []


def test_the_check_sees_spark_only_where_it_is_used() -> None:
    spark = {(path.name, at_load) for path, name, at_load in third_party_imports() if name.startswith("pyspark")}
    assert spark and all(not at_load for _, at_load in spark)
    assert "pyspark" not in installed_closure(PROJECT["project"]["dependencies"])


def test_the_spark_engine_without_pyspark_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)  # as if the spark extra were not installed
    with pytest.raises(CallboardError, match=r"pip install -e '\.\[spark\]'"):
        engines.spark_session.__wrapped__()  # past the cache: another test may have started Spark


def test_an_llm_judge_without_the_llm_extra_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "anthropic", None)  # as if `make run` had installed only the lean set
    with pytest.raises(CallboardError, match=r"pip install -e '\.\[llm\]'"):
        make_ask(load_judge("claude"), "key")

"""Packaging: compatible ranges in pyproject.toml, exact pins in requirements.lock, conda-forge at the lock."""

from __future__ import annotations

import re
import tomllib

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from cocity_analysis import config

# conda-forge names of the packages whose PyPI name differs (the -base builds leave out optional extras)
CONDA_TO_PYPI = {"matplotlib-base": "matplotlib", "seaborn-base": "seaborn", "geopandas-base": "geopandas",
                 "nbconvert-core": "nbconvert"}
SCIENTIFIC_STACK = {"pandas", "numpy", "scikit-learn", "scipy", "seaborn", "matplotlib", "geopandas", "jupyterlab",
                    "papermill", "nbconvert", "nbclient", "ipykernel", "ipywidgets", "pyarrow"}


def _lock() -> dict[str, str]:
    pins = {}
    for line in (config.PROJECT_ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def _pyproject() -> dict:
    return tomllib.loads((config.PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _requirements() -> list[Requirement]:
    project = _pyproject()["project"]
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    return [Requirement(r) for r in project["dependencies"] + extras]


def test_pyproject_declares_ranges_that_hold_the_locked_versions():
    lock = _lock()
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        specifiers = {s.operator for s in requirement.specifier}
        assert "==" not in specifiers, f"{requirement}: exact pins belong in requirements.lock"
        assert ">=" in specifiers and "<" in specifiers, f"{requirement}: a lower bound and an upper bound"
        assert name in lock, f"{requirement.name} is not pinned in requirements.lock"
        assert requirement.specifier.contains(lock[name]), f"{requirement} excludes the locked {lock[name]}"


def test_makefile_installs_with_the_lock_as_constraints():
    makefile = (config.PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"pip install .*-c requirements\.lock .*-e '\.\[test\]'", makefile)


def test_environment_takes_the_scientific_stack_from_conda_forge_at_the_lock():
    environment = yaml.safe_load((config.PROJECT_ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert environment["channels"] == ["conda-forge"]
    lock = _lock()
    conda, pip = {}, []
    for entry in environment["dependencies"]:
        if isinstance(entry, dict):
            pip = entry["pip"]
        elif "=" in entry:
            name, version = entry.split("=", 1)
            conda[canonicalize_name(CONDA_TO_PYPI.get(name, name))] = version
    assert SCIENTIFIC_STACK <= set(conda), f"missing from conda-forge: {SCIENTIFIC_STACK - set(conda)}"
    for name, version in conda.items():
        if name != "python":
            assert lock.get(name) == version, f"{name}={version} in environment.yml, lock has {lock.get(name)}"
    pip_names = set()
    for line in pip:
        if "==" in line:
            name, version = line.split("==")
            pip_names.add(canonicalize_name(name))
            assert lock[canonicalize_name(name)] == version, line
    assert not pip_names & set(conda), "a package installed by both conda and pip"
    assert "-c requirements.lock" in pip and any(line.startswith("-e .") for line in pip)
    # every direct dependency is installed by one of the two
    for requirement in _requirements():
        assert canonicalize_name(requirement.name) in set(conda) | pip_names, requirement.name


@pytest.mark.parametrize("name", ["joblib", "playwright"])
def test_direct_imports_are_declared(name):
    assert name in {canonicalize_name(r.name) for r in _requirements()}


# The stages in order: a module may import from its own stage and from the stages before it, never after.
STAGES = (
    ("base", ("cocity_analysis", "cocity_analysis.config", "cocity_analysis.errors", "cocity_analysis.fileio",
              "cocity_analysis.parallel",
              "cocity_analysis.datasets")),
    ("sources", ("cocity_analysis.sources",)),
    ("method", ("cocity_analysis.method",)),
    ("reporting", ("cocity_analysis.reporting",)),
    ("pipeline", ("cocity_analysis.pipeline",)),
    ("exploration", ("cocity_analysis.exploration",)),
    ("cli", ("cocity_analysis.cli", "cocity_analysis.__main__")),
)


def _stage(module: str) -> int:
    best = None
    for index, (_, prefixes) in enumerate(STAGES):
        for prefix in prefixes:
            if module == prefix or (prefix != "cocity_analysis" and module.startswith(prefix + ".")):
                best = index
    if best is None:
        raise AssertionError(f"module {module} belongs to no stage of STAGES")
    return best


def _package_imports() -> dict[str, set[str]]:
    """Every module of the package -> the package modules it imports (at the top or inside a function)."""
    import ast

    root = config.PACKAGE_DIR
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level:
                raise AssertionError(f"{path}: relative import; the package uses absolute imports")
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            found |= {t for t in targets if t in modules and t != name}
        graph[name] = found
    return graph


def test_the_package_has_no_import_cycle():
    graph = _package_imports()
    assert "cocity_analysis.reporting.batch" in graph and "cocity_analysis.reporting.views" in graph
    done, stack = set(), []

    def visit(module):
        if module in stack:
            cycle = stack[stack.index(module):] + [module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        stack.append(module)
        for target in sorted(graph[module]):
            if target != "cocity_analysis":  # the package's __init__ holds constants only
                visit(target)
        stack.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_each_stage_imports_only_from_the_stages_before_it():
    later = [f"{module} imports {target}" for module, targets in _package_imports().items() for target in targets
             if _stage(target) > _stage(module)]
    assert later == []

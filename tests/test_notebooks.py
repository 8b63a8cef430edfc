"""Notebook hygiene: every notebook in notebooks/ is committed without outputs and runs headless.

Each notebook is executed with papermill in the kernel it declares (``cocity``,
installed by ``make setup``, which ``make test``, ``make reports`` and ``make lab``
run first), with the parameters it declares injected so that it reads the
processed folder of the session fixture ``real_processed_dir``.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from cocity_analysis import config
from cocity_analysis.exploration import explore

NOTEBOOKS = sorted(config.NOTEBOOKS_DIR.glob("*.ipynb"))
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
EXECUTION_TIMEOUT = 600  # seconds per cell: a lost kernel reply fails the test instead of hanging it


def test_notebooks_are_found():
    assert {"explore.ipynb", "city_report.ipynb"} <= {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    for number, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: cell {number} has outputs (clear them before committing)"
            assert cell.execution_count is None, f"{path.name}: cell {number} has an execution count"
    assert "widgets" not in notebook.metadata, f"{path.name}: saved widget state (clear outputs)"


def declared_parameters(notebook) -> set[str]:
    """Names assigned in the cell tagged ``parameters``."""
    names = set()
    for cell in notebook.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, (ast.Assign, ast.AnnAssign)):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    names |= {t.id for t in targets if isinstance(t, ast.Name)}
    return names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_kernel_is_the_one_make_installs(path):
    notebook = nbformat.read(path, as_version=4)
    name = notebook.metadata["kernelspec"]["name"]
    assert name == config.KERNEL_NAME
    makefile = (config.PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(rf"ipykernel install --sys-prefix --name {re.escape(name)}\b", makefile)
    # the kernel is part of `setup`, and every verb that runs a notebook goes through it
    assert re.search(r"^setup: .*\$\(KERNEL\)", makefile, re.M)
    for verb in ("data", "test", "lab"):
        assert re.search(rf"^{verb}: setup\b", makefile, re.M), verb
    assert re.search(r"^reports: prepare\b", makefile, re.M) and re.search(r"^prepare: data\b", makefile, re.M)


def test_explore_declares_its_parameters():
    notebook = nbformat.read(config.NOTEBOOKS_DIR / "explore.ipynb", as_version=4)
    assert {"processed_dir", "city_code"} <= declared_parameters(notebook)


def test_missing_kernel_is_one_clear_error(tmp_path):
    from cocity_analysis.reporting import batch
    from cocity_analysis.errors import CocityError

    notebook = tmp_path / "fixture_unknown_kernel.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "cocity-no-such-kernel", "language": "python", "display_name": "x"}
    nbformat.write(nb, str(notebook))
    with pytest.raises(CocityError, match="cocity-no-such-kernel.*make setup"):
        batch._kernel_name(notebook)


@pytest.fixture(scope="module")
def executed(real_processed_dir, tmp_path_factory):
    """Run each notebook once (lazily), headless; return (output notebook, parameters) by name."""
    import papermill

    cities = pd.read_parquet(real_processed_dir / "cities.parquet")
    code = sorted(c for c in cities.index if c.startswith("0"))[0]  # a leading-zero code must survive
    available = {"processed_dir": str(real_processed_dir), "city_code": code, "lang": "it"}
    runs = {}

    def run(path: Path):
        if path.name not in runs:
            notebook = nbformat.read(path, as_version=4)
            parameters = {k: v for k, v in available.items() if k in declared_parameters(notebook)}
            work = tmp_path_factory.mktemp(path.stem)
            out = work / path.name
            kernel = notebook.metadata["kernelspec"]["name"]  # as `cocity report` and `make lab` run it
            papermill.execute_notebook(str(path), str(out), parameters=parameters, kernel_name=kernel,
                                       cwd=str(work), progress_bar=False, execution_timeout=EXECUTION_TIMEOUT)
            runs[path.name] = (nbformat.read(out, as_version=4), parameters)
        return runs[path.name]

    return run


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_headless(path, executed):
    notebook, _ = executed(path)
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert all(c.execution_count is not None for c in notebook.cells if c.cell_type == "code")


@pytest.mark.slow
def test_explore_draws_without_a_browser(executed, real_processed_dir):
    notebook, parameters = executed(config.NOTEBOOKS_DIR / "explore.ipynb")
    name = pd.read_parquet(real_processed_dir / "cities.parquet").loc[parameters["city_code"], "name"]
    printed = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs
                      if o.output_type == "stream")
    assert printed.startswith(f"{name}: Profilo ") and "profili sulle 39 città" in printed
    views = [o for c in notebook.cells for o in c.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(views) == 2  # the panel and the "Salva scenario" box
    state = notebook.metadata["widgets"][WIDGET_STATE]["state"]
    values = [model["state"].get("value") for model in state.values() if model["model_name"] == "HTMLModel"]
    svgs = [explore.svg_of_img(v) for v in values if isinstance(v, str) and "data:image/svg+xml" in v]
    assert len(svgs) == 3 and all(name in svg for svg in svgs)  # profile, biplot, map, each naming the city
    assert any(isinstance(v, str) and "<th>Area</th>" in v and "simulazioni di incertezza" in v for v in values)
    labels = json.dumps(state)
    assert "Salva scenario" in labels and "Numero di profili" in labels

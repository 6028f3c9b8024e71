"""The notebooks run from top to bottom in a fresh kernel (nbclient), make their plots, and
are committed without outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("matplotlib")
pytest.importorskip("ipykernel")

import lockstep  # noqa: E402
from crossval_cli import lockstep_path  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.parametrize(("name", "figures"), [("quickstart.ipynb", 2), ("zoo.ipynb", 1)])
def test_notebook_runs_and_plots(name, figures, monkeypatch, tmp_path):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not cell.outputs and cell.execution_count is None for cell in code), "outputs must be stripped"
    monkeypatch.setenv("PYTHONPATH", lockstep_path())  # the kernel imports the lockstep under test
    nbclient.NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [output for cell in code for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == figures, f"{name} made {len(images)} plots"
    text = "".join(o.get("text", "") for o in outputs) + "".join(str(o.get("data", {}).get("text/plain", ""))
                                                            for o in outputs)
    if name == "zoo.ipynb":  # 5 models x 2 prompts, all from the store the second time
        assert "10 of 10 cells from the store" in text and lockstep.default_model_path().name in text
    else:
        assert "passed: True" in text and "localization: {" in text and "'layer':" in text

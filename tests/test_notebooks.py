"""Every notebook runs top to bottom on the public data, and matches its generator."""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))


def _generator():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_notebooks", NOTEBOOKS / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_notebooks_are_the_generated_ones():
    import nbformat

    gen = _generator()
    SPEC, build = gen.NOTEBOOKS, gen.build

    assert sorted(SPEC) == NAMES
    for name, cells in SPEC.items():
        committed = nbformat.read(NOTEBOOKS / name, as_version=4)
        assert [c.source for c in committed.cells] == [c.source for c in build(cells).cells], name


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, shared_data, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    monkeypatch.setenv("EFFBENCH_DATA", str(shared_data))   # the kernel inherits the environment
    client = NotebookClient(nb, kernel_name="python3", timeout=120,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    client.execute()                # raises CellExecutionError on any failing cell
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("image/png" in o.get("data", {}) for o in outputs), "no figure was shown"

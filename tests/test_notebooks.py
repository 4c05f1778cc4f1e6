"""Every notebook in notebooks/ runs top to bottom (executed with nbclient, as Jupyter
would run it) and shows its figures: every cell that draws (``plt.show()``,
``plt.subplots``, ``.plot(``, ...) must come back with an ``image/png`` output. (A notebook
once called ``matplotlib.use("Agg")`` before ``plt.show()``, so 12 figures never appeared.)"""
import pathlib
import re

import pytest

NOTEBOOKS = sorted((pathlib.Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
DRAWS = re.compile(r"plt\.(show|subplots|figure|plot|imshow|hist|scatter)\(|\bax\w*(\[[^\]]*\])*\.(plot|imshow|hist|scatter|semilogy|loglog|bar)\(")


def _images(cell):
    return sum("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


@pytest.mark.notebook
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_shows_its_figures(path, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("matplotlib")
    nb = nbformat.read(path, as_version=4)
    assert not any("matplotlib.use(" in c.source for c in nb.cells), "a notebook must not force a backend"
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    drawing = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and DRAWS.search(c.source)]
    blank = [i for i in drawing if _images(nb.cells[i]) == 0]
    assert not blank, f"{path.name}: cells {blank} draw but show no figure"
    assert drawing, f"{path.name} draws nothing"

"""The rendered site: ``sphinx-build -W`` builds docs/ with no warning, and what must render does.

The site tests are skipped unless the ``docs`` extra is installed (``pip install -e ".[docs]"``; CI
installs it). The build goes to a temporary directory; it renders the notebooks from their stored
outputs (it never executes them), so it takes about 20 s on the 2-core machine. The figure test
runs always: ``scripts/make_figures.py`` draws every figure the docs show.
"""

import pathlib
import subprocess
import sys

import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    for module in ("sphinx", "myst_nb", "furo"):
        pytest.importorskip(module)
    tmp = tmp_path_factory.mktemp("site")
    out = tmp / "html"
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
           "-d", str(tmp / "doctrees"), str(ROOT / "docs"), str(out)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"sphinx-build -W failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return out


def _page(site, name):
    path = site / f"{name}.html"
    assert path.is_file(), f"the site has no page {name}.html"
    return path.read_text(encoding="utf-8")


def test_every_notebook_is_a_page_with_its_stored_outputs(site):
    assert NOTEBOOKS
    for name in NOTEBOOKS:
        html = _page(site, f"_notebooks/{name}")
        assert "cell_output" in html, f"{name}: no stored output was rendered"
    # the figures that the notebooks stored are copied into the site
    images = [_page(site, f"_notebooks/{name}").count("<img") for name in NOTEBOOKS]
    assert sum(images) > 0


def test_fenced_and_dollar_maths_become_maths(site):
    for name in ("index", "tt_format", "tt_layers", "notation"):
        html = _page(site, name)
        assert 'class="math' in html, f"{name}: no maths rendered"
        assert "highlight-math" not in html, f"{name}: a ```math block was rendered as code"


def test_the_api_reference_documents_the_core_functions(site):
    html = _page(site, "api/tt")
    for name in ("ttnet.tt.svd.tt_svd", "ttnet.tt.round.tt_round", "ttnet.tt.tensor.TTTensor",
                 "ttnet.tt.matrix.TTMatrix"):
        assert f'id="{name}"' in html, f"the API reference has no entry {name}"


def test_notebook_links_to_docs_pages_resolve_in_the_site(site):
    for name in NOTEBOOKS:
        html = _page(site, f"_notebooks/{name}")
        assert "../docs/" not in html.replace("../docs/_", ""), f"{name}: a link still points to ../docs/"


def test_make_figures_draws_every_figure_the_docs_show(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_figures.py"),
                           "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    drawn = {p.name for p in tmp_path.glob("*.png")}
    assert drawn == {"tt_chain.png", "tt_matrix_modes.png", "kernel_reshaping.png"}
    for name in drawn:
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    shown = set()
    for page in (ROOT / "docs").glob("*.md"):
        shown |= set(re.findall(r"figures/(\w+\.png)", page.read_text(encoding="utf-8")))
    assert shown == drawn, f"shown in docs/*.md: {sorted(shown)}, drawn: {sorted(drawn)}"
    assert all((ROOT / "docs" / "figures" / name).is_file() for name in drawn)

"""Sphinx configuration of the ttnet site.

Build from the repository root (needs the ``docs`` extra, ``pip install -e ".[docs]"``)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

then open ``docs/_build/html/index.html``. The pages are MyST Markdown; the notebooks are
rendered by MyST-NB from their stored outputs and never executed here
(``nb_execution_mode = "off"``). The notebooks live in ``notebooks/`` at the repository root,
outside this source directory, so ``copy_notebooks`` below copies ``notebooks/*.ipynb`` into
``docs/_notebooks/`` (git-ignored, see ``docs/.gitignore``) at the start of every build; the
notebooks themselves are not changed.
"""

import json
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # document this checkout's ttnet, not an installed copy

project = "ttnet"
author = "the ttnet authors"
copyright = "ttnet authors, MIT licence"

extensions = [
    "myst_nb",  # MyST Markdown pages and .ipynb notebooks (it includes myst_parser)
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # NumPy-style docstrings
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]

# --- sources -------------------------------------------------------------------------------
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "_static", "**.ipynb_checkpoints", ".gitignore"]
root_doc = "index"

# --- MyST: maths, anchors ------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_dmath_double_inline = True  # $$...$$ inside a paragraph is display maths too
myst_heading_anchors = 4  # GitHub-style anchors, so "tt_format.md#2-the-tt-format" links work

# --- MyST-NB: render the stored outputs, never execute --------------------------------------
nb_execution_mode = "off"
nb_merge_streams = True

# --- autodoc -------------------------------------------------------------------------------
autodoc_default_options = {"members": True, "member-order": "bysource", "show-inheritance": True}
# The docstrings state every type and shape; the annotations (often ``Any``, because the functions
# validate their inputs themselves) would only repeat them less precisely.
autodoc_typehints = "none"
autodoc_preserve_defaults = True  # show defaults as written (np.float64, not <class ...>)
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# Render "x : ndarray, shape (B, N)" as text: with typed fields Sphinx would try to cross-reference
# every word of the type ("shape", "lr", ...) and find several targets.
napoleon_use_param = False
napoleon_use_keyword = False
# Attribute types ("ndarray, shape (N,)") are still parsed as annotations, and a word such as
# "shape" then matches several attributes. Only these ambiguity warnings are silenced (a missing
# target is not reported by Sphinx unless nitpicky, so nothing else hides behind this).
suppress_warnings = ["ref.python"]

# --- HTML ----------------------------------------------------------------------------------
html_theme = "furo"
html_title = "ttnet"
html_static_path = ["_static"]
html_css_files = ["custom.css"]  # wrap long names in table cells
# MathJax: Sphinx's default (MathJax 3 from a CDN). To read the site offline, point it at a
# local MathJax 3 (Debian's libjs-mathjax is MathJax 2, which does not process MyST's maths):
#   npm pack mathjax@3 && tar xzf mathjax-3*.tgz   # MathJax 3 from the npm registry
#   sphinx-build ... -D mathjax_path=file://$PWD/package/es5/tex-mml-chtml.js


def copy_notebooks(app):
    """Copy ``notebooks/*.ipynb`` into ``docs/_notebooks/`` so the toctree can list them.

    The notebooks link to the docs pages as ``../docs/NAME.md`` (right on GitHub and in
    JupyterLab, where they sit in ``notebooks/``); in the copies, which sit in ``docs/_notebooks/``,
    those links become ``../NAME.md``. Nothing else is changed.
    """
    target = Path(app.srcdir) / "_notebooks"
    target.mkdir(exist_ok=True)
    wanted = {p.name for p in sorted((ROOT / "notebooks").glob("*.ipynb"))}
    for old in target.glob("*.ipynb"):
        if old.name not in wanted:
            old.unlink()
    for name in wanted:
        src, dst = ROOT / "notebooks" / name, target / name
        nb = json.loads(src.read_text(encoding="utf-8"))
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "markdown":
                text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
                cell["source"] = text.replace("](../docs/", "](../")
        new = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
        if not dst.exists() or dst.read_text(encoding="utf-8") != new:
            dst.write_text(new, encoding="utf-8")


_MATH_FENCE = re.compile(r"^(\s*)```math[ \t]*$", re.MULTILINE)


def math_fences(app, docname, source):
    """Render GitHub's fenced maths (a code block tagged ``math``) as display maths.

    The theory pages write display equations as fenced ``math`` blocks so that they render on
    GitHub too; MyST would show them as code, so they become ``{math}`` directives here.
    """
    if not docname.startswith("_notebooks/"):
        source[0] = _MATH_FENCE.sub(lambda m: m.group(1) + "```{math}", source[0])


def setup(app):
    app.connect("builder-inited", copy_notebooks)
    app.connect("source-read", math_fences)

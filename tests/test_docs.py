"""The project's own docs: their examples run, their links resolve, and no file points elsewhere.

ttnet's documentation lives in README.md and docs/. These tests keep it honest: the Python
examples of docs/conventions.md, docs/paper.md, docs/architecture.md, docs/minimal.md and
docs/notation.md (core shapes, rank tuples, the paper's parameter counts and compression ratios)
run as written, every relative link points to a file
of the repository, and no project file sends the reader to notes that are not part of it.
"""

import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS_WITH_EXAMPLES = ["docs/conventions.md", "docs/paper.md", "docs/architecture.md",
                      "docs/minimal.md", "docs/notation.md"]

# Names of notes outside the repository, built in pieces so that this file does not match itself.
PRIVATE_NOTES = re.compile(r"\bDESIGN(\.md|\s*§)|PAPER" + "_NOTES|\\.\\./" + "shared")


def _project_files():
    patterns = ["README.md", "docs/**/*.md", "ttnet/**/*.py", "tests/**/*.py", "notebooks/*.ipynb",
                "scripts/*.py", "benchmarks/*.py"]
    for pattern in patterns:
        yield from sorted(ROOT.glob(pattern))


@pytest.mark.parametrize("page", DOCS_WITH_EXAMPLES)
def test_python_examples_in_the_docs_run(page):
    text = (ROOT / page).read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert blocks, f"{page} has no Python example"
    for block in blocks:
        exec(compile(block, page, "exec"), {})


def test_no_project_file_points_to_notes_outside_the_repository():
    offenders = []
    for path in _project_files():
        if path == pathlib.Path(__file__).resolve():
            continue                      # this file names the patterns it looks for
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if PRIVATE_NOTES.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:80]}")
    assert not offenders, "\n".join(offenders)


def test_the_pattern_catches_what_it_should():
    for line in ["see DESIGN" + ".md §3", "(DESIGN §2)", "PAPER" + "_NOTES.md", "../" + "shared/x"]:
        assert PRIVATE_NOTES.search(line), line
    for line in ["docs/design_notes.md", "PAPER_RANKS = [...]", "shared by the tests"]:
        assert not PRIVATE_NOTES.search(line), line


@pytest.mark.parametrize("page", ["README.md"] + sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md")))
def test_relative_links_resolve(page):
    text = (ROOT / page).read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    relative = [t.split("#")[0] for t in targets if not re.match(r"[a-z]+:", t) and t[0] != "#"]
    missing = [t for t in relative if not ((ROOT / page).parent / t).exists()]
    assert not missing, f"{page} links to missing files: {missing}"


def test_the_readme_points_to_the_conventions_and_the_paper_pages():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for page in ("docs/conventions.md", "docs/paper.md"):
        assert f"]({page})" in readme, page

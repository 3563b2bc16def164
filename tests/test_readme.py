"""The README's code examples run as written, and its quick start matches CI."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_python_examples_in_the_readme_run():
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, "README.md", "exec"), {})


def test_quick_start_test_command_is_what_ci_runs():
    quick_start = re.search(r"## Quick start.*?```bash\n(.*?)```", README, flags=re.S).group(1)
    commands = [line.split("#")[0].strip() for line in quick_start.strip().splitlines()]
    assert len(commands) == 2  # one runs the main job, one runs the tests
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert commands[1] in [line.strip() for line in ci]


def test_every_test_named_in_what_ttnet_guarantees_exists():
    """Each file and test function the guarantees table cites is really there."""
    section = re.search(r"## What ttnet guarantees\n(.*?)\n## ", README, flags=re.S).group(1)
    files = set(re.findall(r"`(tests/[\w/]+\.py)", section))
    names = set(re.findall(r"`(test_\w+?)(\*?)`", section))
    assert files and names
    sources = {}
    for path in files:
        assert (ROOT / path).is_file(), path
    for path in ROOT.glob("tests/**/*.py"):
        sources[path] = path.read_text(encoding="utf-8")
    for name, star in names:
        pattern = rf"def {name}\w*\(" if star or name.endswith("_") else rf"def {name}\("
        assert any(re.search(pattern, text) for text in sources.values()), name

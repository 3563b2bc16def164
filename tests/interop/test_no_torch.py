"""ttnet without PyTorch: nothing but ``ttnet.interop.torch`` imports it, and that names the extra.

These tests run with and without the ``torch`` extra installed (each uses a
fresh interpreter, so what the test process has imported does not matter).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_no_ttnet_module_but_interop_torch_imports_torch():
    code = """
import importlib, json, pkgutil, sys
import ttnet
names = [m.name for m in pkgutil.walk_packages(ttnet.__path__, "ttnet.")]
skip = {"ttnet.interop.torch", "ttnet.__main__"}   # __main__ runs the CLI when imported
for name in names:
    if name not in skip:
        importlib.import_module(name)
print(json.dumps({"modules": names, "torch": sorted(m for m in sys.modules
                                                     if m == "torch" or m.startswith("torch."))}))
"""
    result = _run(code)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    # the walk found the packages it must check, the interop package among them
    assert {"ttnet.nn.layers", "ttnet.models", "ttnet.cli", "ttnet.interop",
            "ttnet.experiments.run"} <= set(out["modules"])
    assert out["torch"] == []


def test_interop_torch_without_torch_names_the_extra():
    # hide PyTorch from this interpreter, whether it is installed or not
    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None
sys.meta_path.insert(0, Block())
import ttnet.interop
try:
    import ttnet.interop.torch
except ImportError as exc:
    print("ImportError:", exc)
else:
    print("imported")
"""
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ImportError:"), result.stdout
    assert 'pip install -e ".[torch]"' in result.stdout
    assert "PyTorch" in result.stdout

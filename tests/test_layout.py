"""The package's layout: notebooks numbered in dependency order, no import tucked inside a function to dodge it."""
import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules() -> dict[str, tuple[int, ast.Module]]:
    "{module: (number of the notebook it is exported from, its syntax tree)} for every exported module."
    out = {}
    for path in sorted((ROOT / "altgrad").glob("*.py")):
        source = path.read_text()
        notebook = re.search(r"File to edit: \.\./nbs/(\d+)_\w+\.ipynb", source)
        if notebook: out[path.stem] = int(notebook.group(1)), ast.parse(source)
    return out


def _imports(tree: ast.Module):
    "(altgrad module imported, at module level?) for every import of the package in `tree`."
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and (node.level == 1 or node.module.startswith("altgrad.")):
            yield node.module.split(".")[-1], id(node) in top


def test_each_module_imports_only_modules_of_earlier_notebooks():
    modules = _modules()
    assert len(modules) >= 15
    late = [(name, imported) for name, (number, tree) in modules.items() for imported, _ in _imports(tree)
            if imported in modules and modules[imported][0] >= number]
    assert late == []


def test_no_import_of_the_package_inside_a_function():
    tucked = [(name, imported) for name, (_, tree) in _modules().items() for imported, top in _imports(tree) if not top]
    assert tucked == []


def test_every_notebook_cell_has_an_id():
    "nbformat 4.5 cells carry ids; a cell without one makes JupyterLab add it and mark the notebook modified."
    missing = [(path.name, i) for path in sorted((ROOT / "nbs").glob("*.ipynb"))
               for i, cell in enumerate(json.loads(path.read_text())["cells"]) if "id" not in cell]
    assert missing == []


def test_a_non_editable_install_runs_a_named_config_from_any_directory(tmp_path):
    "`pip install .` (not editable) ships configs/ inside the package: altgrad-train e5m2_short runs elsewhere."
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target",
                    str(site), str(ROOT)], check=True)
    env = {**os.environ, "PYTHONPATH": str(site)}
    probe = "import altgrad.files as f; print(f.__file__); print(f.CONFIGS_DIR)"
    found = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True,
                           check=True).stdout.split()
    assert all(Path(p).is_relative_to(site) for p in found), found  # the installed copy, not the checkout
    tiny = ["max_steps=2", "device=cpu", "n_layer=1", "n_head=2", "n_embd=32", "block_size=32", "batch_size=2",
            "eval_iters=1", "eval_interval=2", "warmup_steps=1", "recipe=mxfp8", f"checkpoint_dir={tmp_path / 'runs'}"]
    subprocess.run([str(site / "bin" / "altgrad-train"), "e5m2_short", *tiny], cwd=tmp_path, env=env, check=True,
                   capture_output=True)
    assert json.loads((tmp_path / "runs" / "e5m2_short" / "summary.json").read_text())["steps"] == 2


def test_every_line_of_the_package_within_100_characters():
    "nbdev's generated `__all__` list aside (nbdev wraps it at its own width), and its name index."
    long = []
    for path in sorted((ROOT / "altgrad").glob("*.py")):
        if path.name == "_modidx.py": continue
        source = path.read_text()
        generated = {i for node in ast.parse(source).body if isinstance(node, ast.Assign)
                     and any(getattr(t, "id", None) == "__all__" for t in node.targets)
                     for i in range(node.lineno, node.end_lineno + 1)}
        long += [f"{path.name}:{i}" for i, line in enumerate(source.splitlines(), 1)
                 if len(line) > 100 and i not in generated]
    assert long == []

"""Layering: the UI-free core and the build tools never import Textual; no imports of ours form a circle, not
even through imports inside functions; and no module imports from a floor above its own."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PKG = "triton_console"
# Folders of the checkout and the import names they have (pyproject maps them the same way).
FOLDERS = {
    "triton_console": PKG,
    "tui": f"{PKG}.tui",
    "build_tools": f"{PKG}.build_tools",
    "model_repository": f"{PKG}.model_repository",
}
# sources copied into repositories (<model>/1/model.py and the runtime beside them): they run inside Triton's stub
SKIP = ("model_repository/*/1/*.py", "model_repository/triton_console_runtime.py")
UI_FREE = ["common", "tui.core", "build_tools", "model_repository"]
# Floors, lowest first: a module may import from its own floor and the floors below it, never above.
FLOORS = [
    ["common"],
    ["tui.core.client", "build_tools", "model_repository"],
    ["tui.core.classify"],
    ["tui.core.request"],
    ["tui.core.server", "tui.core.load", "tui.core.tune"],
    ["tui.core"],
    ["tui.text", "tui.hints", "tui.messages", "tui.widgets", "tui.childjob", "tui.workers"],
    ["tui.panes"],
    ["tui.app"],
    ["tui.cli", "tui.commands"],
    ["tui", ""],
]


def _files() -> dict[str, Path]:
    out = {}
    for folder, name in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT / folder)
            if any(path.relative_to(ROOT).match(s) for s in SKIP):
                continue
            parts = list(rel.with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([name, *parts])] = path
    return out


FILES = _files()


def _imports(module: str, path: Path) -> set[str]:
    """Modules of ours that ``module`` imports anywhere in its file (inside functions too)."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.add(target)
            found |= {f"{target}.{a.name}" for a in node.names}
    return {m for m in found if m in FILES and m != module}


def _floor(module: str) -> int:
    rel = module.removeprefix(PKG).removeprefix(".")
    best, level = -1, -1
    for i, rooms in enumerate(FLOORS):
        for room in rooms:
            if (rel == room or rel.startswith(room + ".") or room == "") and len(room) > best:
                best, level = len(room), i
    return level


def test_only_our_import_name():
    """Nothing imports the bare folder names (``tui``, ``build_tools``, ``model_repository``): PyPI has an unrelated ``tui``."""
    bad = []
    for path in [*FILES.values(), *(ROOT / "tests").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            bad += [
                f"{path.relative_to(ROOT)}: {n}"
                for n in names
                if n.split(".")[0] in ("tui", "build_tools", "model_repository")
            ]
    assert not bad, bad


def test_core_and_build_tools_never_import_textual():
    """Import every core and build module in a fresh interpreter: Textual (and Rich's live UI) stays out."""
    modules = [
        m
        for m in FILES
        if any(m == f"{PKG}.{r}" or m.startswith(f"{PKG}.{r}.") for r in UI_FREE)
        and not m.endswith("gpu_preprocessing")  # needs torch; runs inside the preprocess model
    ]
    assert len(modules) > 30
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "print(sorted(k for k in sys.modules if k == 'textual' or k.startswith('textual.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_no_import_cycles_even_through_function_local_imports():
    graph = {module: _imports(module, path) for module, path in FILES.items()}
    seen, stack, cycles = set(), [], []

    def visit(m: str) -> None:
        if m in stack:
            cycles.append(stack[stack.index(m) :] + [m])
            return
        if m in seen:
            return
        seen.add(m)
        stack.append(m)
        for n in sorted(graph[m]):
            # a package's __init__ is imported with each of its modules: only the explicit arrows count
            visit(n)
        stack.pop()

    for m in sorted(graph):
        visit(m)
    assert not cycles, cycles


def test_no_arrow_from_a_lower_floor_to_a_higher_one():
    up = []
    for module, path in FILES.items():
        for target in _imports(module, path):
            if _floor(target) > _floor(module):
                up.append(f"{module} (floor {_floor(module)}) -> {target} (floor {_floor(target)})")
    assert not up, "\n".join(sorted(up))


def test_every_module_has_a_floor():
    assert not [m for m in FILES if _floor(m) < 0]


def test_every_package_folder_is_in_the_wheel():
    """pyproject lists the packages (a folder maps to a subpackage name): a folder left out would be missing
    from the wheel while every test in the checkout passes."""
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    folders = {m for m, path in FILES.items() if path.name == "__init__.py"}
    # the model folders of model_repository/ (no __init__: their 1/model.py is package data)
    folders |= {
        f"{PKG}.model_repository.{p.parent.parent.name}" for p in ROOT.glob("model_repository/*/1/model.py")
    }
    assert folders == listed, (sorted(folders - listed), sorted(listed - folders))

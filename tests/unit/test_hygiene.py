"""Layering: the UI-free core and the build tools never import Textual, and no module imports form a cycle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = ["tui/core", "build_tools"]
SKIP = {"build_tools/model_sources"}  # sources copied into repositories: they run inside Triton's stub


def _modules(folder: str) -> list[str]:
    out = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        rel = path.relative_to(ROOT)
        if any(str(rel).startswith(s) for s in SKIP):
            continue
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out.append(".".join(parts))
    return out


def test_core_and_build_tools_never_import_textual():
    """Import every core and build module in a fresh interpreter: Textual (and Rich's live UI) stays out."""
    modules = [m for f in CORE for m in _modules(f) if m not in ("tui.core.gpu_preprocessing",)]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "print(sorted(k for k in sys.modules if k == 'textual' or k.startswith('textual.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def _imports(module: str, path: Path) -> set[str]:
    """Modules of ours that ``module`` imports at module level (lazy imports inside functions excluded)."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in tree.body:
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
    return {m for m in found if m.split(".")[0] in ("tui", "build_tools")}


def test_no_import_cycles():
    graph: dict[str, set[str]] = {}
    files = {}
    for folder in ("tui", "build_tools"):
        for module in _modules(folder):
            rel = Path(*module.split("."))
            path = ROOT / (str(rel) + ".py")
            files[module] = path if path.is_file() else ROOT / rel / "__init__.py"
    for module, path in files.items():
        graph[module] = {m for m in _imports(module, path) if m in files and m != module}
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
            visit(n)
        stack.pop()

    for m in sorted(graph):
        visit(m)
    assert not cycles, cycles

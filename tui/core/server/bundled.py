"""The tritonserver bundled in the ``nvidia-pytriton`` wheel, made to serve any repository from this environment.

Two things make the wheel's server usable outside PyTriton:

- a backend directory of our own: the Python backend looks for ``triton_python_backend_stub`` beside
  ``libtriton_python.so``, and the wheel keeps one stub per Python version elsewhere, so we link the one for
  this Python in;
- an environment for the stub: it embeds the base interpreter in isolated mode (``PYTHONPATH`` ignored) and
  finds its prefix by looking up ``python3`` on ``PATH``. We give it a tiny venv of our own (``pyvenv.cfg``, a
  ``python3`` link to this interpreter and a ``.pth`` file adding this environment's site directories), first on
  ``PATH``. Every model then imports this environment's numpy, Pillow and onnxruntime, whatever its import order
  (Triton's own examples import numpy first), instead of the base interpreter's packages.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import sys
import sysconfig
import uuid
from pathlib import Path

from triton_console.common import paths
from triton_console.common.errors import ConsoleError

STUB_SITE_ENV = "TRITON_CONSOLE_STUB_SITE"  # directories the stub searches first (e.g. a numpy<2)
PYVER = f"{sys.version_info.major}.{sys.version_info.minor}"


def root() -> Path | None:
    """The wheel's ``tritonserver`` tree, or None when nvidia-pytriton is not installed."""
    spec = importlib.util.find_spec("pytriton")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "tritonserver"
    return path if (path / "bin" / "tritonserver").is_file() else None


def state_dir() -> Path:
    return paths.cache_dir()


def _materialise(target: Path, write) -> Path:
    """Build ``target`` in a staging directory with ``write(staging)`` and rename it into place (races: theirs wins)."""
    staging = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:6]}")
    staging.mkdir(parents=True)
    try:
        write(staging)
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        os.rename(staging, target)
    except OSError:
        pass  # another process made it first: use theirs
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if not target.exists():
        raise ConsoleError(f"cannot create {target}")
    return target


def backend_dir(tree: Path) -> Path:
    """Our backend directory: the wheel's Python backend plus the stub for *this* Python (links)."""
    stub = tree / "python_backend_stubs" / PYVER / "triton_python_backend_stub"
    if not stub.is_file():
        have = sorted(p.name for p in (tree / "python_backend_stubs").iterdir() if p.is_dir())
        raise ConsoleError(
            f"the bundled tritonserver has no Python backend stub for Python {PYVER} (it has {', '.join(have)})",
            hint="create the venv with one of those Python versions, or pass --server PATH",
        )
    wanted = {
        "libtriton_python.so": tree / "backends" / "python" / "libtriton_python.so",
        "triton_python_backend_utils.py": tree / "backends" / "python" / "triton_python_backend_utils.py",
        "triton_python_backend_stub": stub,
    }
    digest = hashlib.sha256(str(tree.resolve()).encode()).hexdigest()[:10]
    target = state_dir() / f"backends-py{PYVER}-{digest}"
    if all(
        (target / "python" / n).is_symlink() and (target / "python" / n).resolve() == src.resolve()
        for n, src in wanted.items()
    ):
        return target

    def write(staging: Path) -> None:
        (staging / "python").mkdir()
        for name, src in wanted.items():
            os.symlink(src, staging / "python" / name)

    return _materialise(target, write)


def site_dirs() -> list[str]:
    """This environment's package directories, as the running interpreter sees them (venv, pipx, .pth-added)."""
    paths = sysconfig.get_paths()
    found = [paths["purelib"], paths["platlib"]]
    found += [p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)]
    return [p for p in dict.fromkeys(found) if os.path.isdir(p)]


def _pth(first: list[str], dirs: list[str]) -> str:
    # addsitedir also runs the .pth files of those directories (editable installs, namespace packages)
    lines = [f"import site; list(map(site.addsitedir, {dirs!r}))"]
    if first:
        lines.append(f"import sys; sys.path[:0] = {first!r}")
    return "\n".join(lines) + "\n"


def stub_prefix() -> Path:
    """A minimal venv whose ``python3`` the stub finds first on PATH, adding this environment's site dirs."""
    first = [p for p in os.environ.get(STUB_SITE_ENV, "").split(os.pathsep) if p]
    base = Path(getattr(sys, "_base_executable", sys.executable) or sys.executable).resolve()
    pth = _pth(first, site_dirs())
    cfg = f"home = {base.parent}\ninclude-system-site-packages = false\nversion = {sys.version.split()[0]}\n"
    digest = hashlib.sha256((str(base) + cfg + pth).encode()).hexdigest()[:10]
    target = state_dir() / f"stub-env-py{PYVER}-{digest}"
    site = Path("lib") / f"python{PYVER}" / "site-packages"
    if (target / site / "triton_console.pth").is_file() and (target / "bin" / "python3").exists():
        return target

    def write(staging: Path) -> None:
        (staging / "bin").mkdir()
        os.symlink(base, staging / "bin" / "python3")
        (staging / site).mkdir(parents=True)
        (staging / site / "triton_console.pth").write_text(pth)
        (staging / "pyvenv.cfg").write_text(cfg)

    return _materialise(target, write)


def environment(tree: Path) -> dict[str, str]:
    """Extra environment for the bundled server and its stubs (prepended to existing PATH-like values).

    LD_LIBRARY_PATH: the wheel's relocated libraries and this Python's libpython (the stub then runs this
    very interpreter's libpython and stdlib); PATH: our stub prefix first (see the module docstring).
    """
    libs = [str(tree.parent.parent / "nvidia_pytriton.libs")]
    libdir = sysconfig.get_config_var("LIBDIR")
    if libdir and Path(libdir, f"libpython{PYVER}.so.1.0").exists():
        libs.append(libdir)
    if not os.environ.get(STUB_SITE_ENV):
        check_stub_numpy()
    return {"LD_LIBRARY_PATH": os.pathsep.join(libs), "PATH": str(stub_prefix() / "bin")}


def check_stub_numpy() -> None:
    """The bundled Python backend (Triton 2.51) was built for numpy 1.x: under numpy 2 it hands models
    garbage for UINT8 inputs (seen on the lent H100: every JPEG arrived as ff ff ff ff). Refuse clearly."""
    from importlib import metadata

    try:
        version = metadata.version("numpy")
        major = int(version.split(".")[0])
    except (metadata.PackageNotFoundError, ValueError):
        return
    if major >= 2:
        raise ConsoleError(
            f"the bundled tritonserver's Python backend needs numpy<2, but this environment has numpy {version}",
            hint=f"install numpy<2 in this venv, or put a numpy<2 site directory in ${STUB_SITE_ENV}",
        )

"""Package size and precompiled bytecode.

Size: `sam build` of the template (as deployed), then the unzipped size of each function's build
output plus the shared layer; target under 20 MB each (Lambda allows 250 MB, but every byte is
downloaded and unpacked on a cold start). boto3/botocore/s3transfer must not be bundled: the
runtime has them. When sam is not installed, the layer is built with `pip install --target` of
layers/requirements.txt plus layers/s2s instead.

.pyc: Lambda's code directories are read-only, so bytecode that is not shipped is compiled again
on every cold start. The same cold start probe as bench_coldstart runs against a copy of the layer
and the function's code without any .pyc (and PYTHONDONTWRITEBYTECODE=1), and against the same
copy after `compileall`; the ratio is what shipping .pyc saves. The build's own .pyc count shows
whether the build ships them."""

from __future__ import annotations

import compileall
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import replace
from pathlib import Path

from bench.bench_coldstart import calibrate, medians, moto_server, probes
from bench.common import ROOT, Row, format_seconds

SIZE_TARGET = 20 * 1000 * 1000  # bytes: "20 MB" as AWS counts
RUNTIME_LIBRARIES = ("boto3", "botocore", "s3transfer")
PYC_FUNCTIONS = ("UploadApiFunction", "LandingCheckFunction")
PYC_REPEAT = 5


def _sam() -> list[str] | None:
    sam = os.environ.get("S2S_SAM") or str(ROOT / ".venv-sam" / "bin" / "sam")
    return [sam] if Path(sam).exists() else None


def _python313_path() -> str:
    """PATH with a Python 3.13 first: sam's python3.13 builder looks for it there."""
    path = os.environ.get("PATH", "")
    try:
        prefix = subprocess.run(
            ["pyenv", "prefix", "3.13.0"], capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return path
    return f"{prefix}/bin{os.pathsep}{path}"


def build(folder: Path) -> tuple[dict[str, Path], Path, str]:
    """Function build directories by logical id, the layer's directory, and how it was built."""
    sam = _sam()
    if sam:
        out = folder / "sam-build"
        completed = subprocess.run(
            [
                *sam,
                "build",
                "--template-file",
                str(ROOT / "template.yaml"),
                "--build-dir",
                str(out),
                "--cache-dir",
                str(folder / "sam-cache"),
            ],
            cwd=ROOT,
            env={**os.environ, "PATH": _python313_path(), "SAM_CLI_TELEMETRY": "0"},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if completed.returncode == 0:
            functions = {p.name: p for p in out.iterdir() if p.is_dir() and p.name != "SharedLayer"}
            return functions, out / "SharedLayer", "sam build"
    # Fallback: what sam puts in the layer, built by pip (boto3 comes with the runtime).
    layer = folder / "layer"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-compile",
            "--target",
            str(layer / "python"),
            "-r",
            str(ROOT / "layers" / "requirements.txt"),
        ],
        check=True,
        timeout=300,
    )
    shutil.copytree(ROOT / "layers" / "s2s", layer / "python" / "s2s", ignore=shutil.ignore_patterns("__pycache__"))
    functions = {}
    for probe in probes()[0]:
        assert probe.code_dir is not None
        target = folder / probe.function
        shutil.copytree(probe.code_dir, target, ignore=shutil.ignore_patterns("__pycache__"))
        functions[probe.function] = target
    return functions, layer, "pip install --target"


def tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _mb(size: int) -> str:
    return f"{size / 1e6:.2f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"


def size_rows(functions: dict[str, Path], layer: Path, how: str) -> list[Row]:
    layer_size = tree_size(layer)
    compiled = layer.parent / "layer-with-pyc"
    shutil.copytree(layer, compiled)
    compileall.compile_dir(compiled, quiet=1, workers=0)
    compiled_size = tree_size(compiled)
    rows = []
    for name, path in sorted(functions.items()):
        own = tree_size(path)
        total = own + compiled_size
        rows.append(
            Row(
                f"package {name} + layer (unzipped, with .pyc)",
                _mb(total),
                f"function {_mb(own)}",
                None,
                "< 20 MB",
                total < SIZE_TARGET,
            )
        )
    rows.append(Row(f"package layer ({how})", _mb(layer_size), f"with .pyc {_mb(compiled_size)}", None, "info", None))
    bundled = sorted(
        {
            p.name
            for root in [layer, *functions.values()]
            for p in root.rglob("*")
            if p.is_dir() and p.name in RUNTIME_LIBRARIES
        }
    )
    rows.append(
        Row("package bundles boto3/botocore/s3transfer", ", ".join(bundled) or "none", "", None, "none", not bundled)
    )
    shipped = sum(1 for root in [layer, *functions.values()] for _ in root.rglob("*.pyc"))
    rows.append(Row(f"package ships .pyc ({how})", f"{shipped} .pyc files", "", None, "> 0", shipped > 0))
    return rows


def _runnable_layer(layer: Path, target: Path) -> Path:
    """The built layer's packages, runnable on this machine: the build is for arm64, so each
    top-level package is taken from this interpreter's site-packages (same pinned versions) when
    it is there, else (our s2s) from the build. No __pycache__ or .pyc anywhere."""
    site = Path(sysconfig.get_paths()["purelib"])
    python = layer / "python" if (layer / "python").is_dir() else layer
    no_bytecode = shutil.ignore_patterns("__pycache__", "*.pyc")
    for entry in python.iterdir():
        source = site / entry.name if (site / entry.name).exists() and entry.name != "s2s" else entry
        if source.is_dir():
            shutil.copytree(source, target / entry.name, ignore=no_bytecode)
        elif source.suffix == ".py":
            shutil.copy2(source, target / entry.name)
    return target


def pyc_rows(layer: Path, folder: Path) -> list[Row]:
    found = {p.function: p for p in probes()[0]}
    chosen = [found[name] for name in PYC_FUNCTIONS if name in found]
    copies = {}
    for label in ("source", "compiled"):
        root = folder / f"pyc-{label}"
        _runnable_layer(layer, root / "layer")
        shutil.copytree(ROOT / "functions", root / "functions", ignore=shutil.ignore_patterns("__pycache__"))
        copies[label] = root
    compileall.compile_dir(copies["compiled"], quiet=1, workers=0)

    rows = []
    with moto_server() as env:
        for probe in chosen:
            assert probe.code_dir is not None
            relative = probe.code_dir.relative_to(ROOT)
            results = {}
            for label, root in copies.items():
                moved = replace(probe, code_dir=root / relative)
                run_env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
                moved = calibrate(moved, run_env, folder, layer_dir=root / "layer")
                results[label] = medians([moved], run_env, folder, repeat=PYC_REPEAT, layer_dir=root / "layer")[
                    probe.function
                ]["total"]
            ratio = results["source"] / results["compiled"]
            rows.append(
                Row(
                    f"cold start {probe.function} without .pyc vs with",
                    format_seconds(results["source"]),
                    format_seconds(results["compiled"]),
                    ratio,
                    "info: ship .pyc",
                    None,
                )
            )
    return rows


def run() -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="s2s-bench-package-") as tmp:
        folder = Path(tmp)
        functions, layer, how = build(folder)
        return size_rows(functions, layer, how) + pyc_rows(layer, folder)

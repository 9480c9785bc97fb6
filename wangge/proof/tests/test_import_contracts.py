"""The import contracts of pyproject.toml (`lint-imports`, run by `make lint`) hold, and each one
breaks on a planted violation: an upward import, an import cycle, shipped code importing the proof
floor or the test-support package. A test module may still import any app.

The plants go into a copy of the package's Python files in a temporary directory, linted with the
same configuration, so the working tree is never touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

PLANTS = {
    # core sits below cases: an upward import.
    "wangge/core/planted_upward.py": "from wangge.cases import workflow  # noqa: F401\n",
    # Two modules of one package importing each other, one of them lazily.
    "wangge/lib/planted_a.py": "from wangge.lib import planted_b  # noqa: F401\n",
    "wangge/lib/planted_b.py": "def f():\n    from wangge.lib import planted_a  # noqa: F401\n",
    # Shipped code (a face, above the proof floor) importing the tooling and the test support.
    "wangge/web/planted_tooling.py": "from wangge.proof import workload  # noqa: F401\n",
    "wangge/api/planted_testing.py": "from wangge.testing import factories  # noqa: F401\n",
    # A test importing a face from the bottom layer's tests: allowed.
    "wangge/lib/tests/test_planted.py": "from wangge.web import views  # noqa: F401\n",
}


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(  # noqa: S603 — the venv's own lint-imports on our own files
        [str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def copy_of_the_package(target: Path) -> Path:
    skipped = shutil.ignore_patterns("static", "templates", "data", "histories", "__pycache__")
    shutil.copytree(ROOT / "wangge", target / "wangge", ignore=skipped)
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def test_the_code_keeps_every_import_contract():
    done = lint_imports(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Contracts: 3 kept, 0 broken." in done.stdout


def test_every_contract_breaks_on_a_planted_violation(tmp_path):
    root = copy_of_the_package(tmp_path)
    for path, text in PLANTS.items():
        (root / path).write_text(text, encoding="utf-8")

    done = lint_imports(root)

    out = done.stdout
    assert done.returncode == 1, out + done.stderr
    assert "Contracts: 0 kept, 3 broken." in out
    assert "wangge.core is not allowed to import wangge.cases" in out
    assert "wangge.core.planted_upward -> wangge.cases.workflow" in out
    assert "No cycles are allowed in wangge.lib." in out
    assert "planted_a" in out and "planted_b" in out
    assert "wangge.web.planted_tooling -> wangge.proof.workload" in out
    assert "wangge.api.planted_testing -> wangge.testing.factories" in out
    assert "test_planted" not in out

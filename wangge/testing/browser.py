"""Browser tests: Debian's Chromium driven by Playwright (never a downloaded browser).

A browser test module calls :func:`require_chromium` at import and takes the ``browser`` fixture
(``wangge/conftest.py``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def require_chromium() -> None:
    """Skip the calling module without Debian's chromium; under CI (``CI`` set) fail instead, so a
    run without it never passes silently (`make test` installs it)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            raise RuntimeError("Debian's chromium is missing: `make test` installs it")
        pytest.skip(
            "Debian's chromium is not installed (make test installs it)", allow_module_level=True
        )

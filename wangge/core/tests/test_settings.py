import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def start(**env: str) -> subprocess.CompletedProcess:
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("WANGGE_") and k != "DJANGO_SETTINGS_MODULE"
    }
    environ.update(env)
    return subprocess.run(  # noqa: S603 — our own interpreter and manage.py
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "WANGGE_SECRET_KEY"),
        ({"WANGGE_DEBUG": "perhaps"}, "WANGGE_DEBUG"),
        ({"WANGGE_DEBUG": "1", "WANGGE_DATABASE_URL": "mysql://x/y"}, "WANGGE_DATABASE_URL"),
        ({"WANGGE_DEBUG": "1", "WANGGE_GEOMETRY_TOLERANCE_M": "-1"}, "WANGGE_GEOMETRY_TOLERANCE_M"),
        ({"WANGGE_DEBUG": "1", "WANGGE_SECRET_KEY": "short"}, "WANGGE_SECRET_KEY"),
    ],
)
def test_a_wrong_setting_stops_the_start_naming_the_variable(env, variable, tmp_path):
    result = start(WANGGE_VAR_DIR=str(tmp_path), **env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Configuration error:")
    assert variable in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_mode_starts_without_a_secret(tmp_path):
    result = start(WANGGE_DEBUG="1", WANGGE_VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr


def test_a_fresh_checkout_starts_with_the_database_outside_var(tmp_path):
    # No var/ yet and the database elsewhere: the task queue's SQLite file still needs var/.
    var = tmp_path / "fresh" / "var"
    database = tmp_path / "elsewhere" / "wangge.sqlite3"
    result = start(
        WANGGE_DEBUG="1", WANGGE_VAR_DIR=str(var), WANGGE_DATABASE_URL=f"sqlite:///{database}"
    )
    assert result.returncode == 0, result.stderr
    assert var.is_dir() and database.parent.is_dir()


def test_a_directory_that_cannot_be_made_is_named(tmp_path):
    (tmp_path / "a-file").write_text("")
    result = start(
        WANGGE_DEBUG="1",
        WANGGE_VAR_DIR=str(tmp_path / "a-file" / "var"),
        WANGGE_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    assert result.returncode == 2
    assert result.stderr.startswith("Configuration error: WANGGE_VAR_DIR: cannot create")
    assert "Traceback" not in result.stderr

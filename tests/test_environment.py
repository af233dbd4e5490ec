"""Tests never inherit a record from the environment: an exported CHAIRSIDE_DB is ignored, not written to."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from console.record.engine import resolve_url
from tests.conftest import PROJECT_ROOT, TEST_DATA_DIR, isolate_environment


def test_the_suite_runs_against_its_own_throwaway_record() -> None:
    assert os.environ["CHAIRSIDE_DB"] == f"sqlite:///{TEST_DATA_DIR}/record.db"
    assert resolve_url().startswith(f"sqlite:///{TEST_DATA_DIR}/")
    assert os.environ["XDG_DATA_HOME"].startswith(TEST_DATA_DIR)


def test_an_exported_record_and_unknown_chairside_settings_are_overridden(tmp_path: Path) -> None:
    env = {"CHAIRSIDE_DB": "postgresql+psycopg://clinic@db.example/record", "CHAIRSIDE_OUTBOX": "/srv/out",
           "CHAIRSIDE_TEST_PG_URL": "postgresql+psycopg://test@127.0.0.1/t", "PATH": "/usr/bin"}
    isolate_environment(env, str(tmp_path))
    assert env == {"CHAIRSIDE_DB": f"sqlite:///{tmp_path}/record.db", "XDG_DATA_HOME": f"{tmp_path}/xdg-data",
                   "CHAIRSIDE_TRUST_DIR": f"{tmp_path}/trust",
                   "CHAIRSIDE_TEST_PG_URL": "postgresql+psycopg://test@127.0.0.1/t", "PATH": "/usr/bin"}


def test_a_pytest_run_started_with_a_real_record_exported_never_sees_it(tmp_path: Path) -> None:
    real = tmp_path / "clinic.sqlite3"
    probe = tmp_path / "test_probe.py"
    probe.write_text("import os\n"
                     "def test_probe():\n"
                     "    assert 'clinic' not in os.environ['CHAIRSIDE_DB'], os.environ['CHAIRSIDE_DB']\n"
                     "    assert 'CHAIRSIDE_RECORD_DIR' not in os.environ\n")
    env = {**os.environ, "CHAIRSIDE_DB": f"sqlite:///{real}", "CHAIRSIDE_RECORD_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
                           str(PROJECT_ROOT), "--confcutdir", str(PROJECT_ROOT), "-c",
                           str(PROJECT_ROOT / "pyproject.toml"), "--noconftest", "-p", "tests.conftest",
                           str(probe)], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not real.exists()

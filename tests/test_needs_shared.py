"""`needs_shared`: without ../shared a test skips on a developer's machine and fails under CI's flags."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = """from tests.conftest import needs_shared


@needs_shared("reports/*.gold.json")
def test_reads_shared():
    pass
"""


# Either flag: both go through conftest.ci_requires(); each case is a pytest subprocess (seconds).
@pytest.mark.parametrize("flag, outcome, status", [(None, "1 skipped", 0), ("RECTIFY_REQUIRE_BROWSER", "1 error", 1)])
def test_missing_shared_skips_or_fails(tmp_path, flag, outcome, status):
    (tmp_path / "probe").mkdir()
    (tmp_path / "probe" / "test_probe.py").write_text(PROBE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("RECTIFY_REQUIRE_PG", "RECTIFY_REQUIRE_BROWSER")}
    env["RECTIFY_SHARED_DIR"] = str(tmp_path / "empty")  # no ../shared
    if flag:
        env[flag] = "1"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-ra",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.conftest",
            "--rootdir",
            str(tmp_path / "probe"),
            str(tmp_path / "probe"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert outcome in proc.stdout and proc.returncode == status, proc.stdout[-2000:]
    assert "nothing matches reports/*.gold.json" in proc.stdout

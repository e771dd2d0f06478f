"""``renkou bench dedup`` end to end on a small county (its own SQLite database in a temporary folder): it builds
the county with injected duplicates, scans, and reports precision and recall against truth.json."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.any_database


def test_the_dedup_benchmark_runs_on_a_small_county(tmp_path):
    env = dict(os.environ)
    env.pop("RENKOU_DATABASE_URL", None)  # the benchmark builds its own SQLite county
    args = [sys.executable, "-m", "renkou.cli", "bench", "dedup", "--persons", "600", "--rate", "0.04",
            "--data-dir", str(tmp_path / "county")]
    first = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Building a county" in first.stdout
    scan = re.search(r"Splink scan, p ≥ 0\.7\s+[\d.]+\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)\s+([\d.]+)", first.stdout)
    assert scan, first.stdout
    precision, recall = float(scan.group(3)), float(scan.group(4))
    assert precision >= 0.8 and recall >= 0.8, first.stdout
    # a second run reuses the county (and brings its schema up to date)
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert again.returncode == 0 and "Reusing the county" in again.stdout, again.stderr[-3000:]

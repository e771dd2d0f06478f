"""The benchmark's code path at a tiny size (the benchmark itself is never part of the suite)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[3]


def test_bench_exchange_runs_and_prints_its_figures(nats_url, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(SRC), "RENKOU_DATA_DIR": str(tmp_path), "RENKOU_NATS_URL": nats_url,
           "DJANGO_SETTINGS_MODULE": "renkou.settings"}
    env.pop("RENKOU_DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "renkou.cli", "bench", "exchange", "--messages", "100",  # noqa: S603
                             "--batch", "50", "--people", "100"], env=env, capture_output=True, text=True,
                            timeout=180, check=True)
    out = result.stdout
    assert "matched and answered                              100 of 100" in out, out
    assert re.search(r"baseline: JetStream alone, no database\s+[\d,]+ messages/s", out)
    assert re.search(r"ratio exchange / baseline\s+\d+\.\d\d", out)
    assert re.search(r"latency p50 / p95 / max\s+\d+ / \d+ / \d+ ms", out)

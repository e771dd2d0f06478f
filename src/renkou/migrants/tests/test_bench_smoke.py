"""The benchmark's code path at a tiny size (the benchmark itself is never part of the suite)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3]


@pytest.mark.any_database
def test_bench_exchange_runs_and_prints_its_figures(nats_url, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(SRC), "RENKOU_DATA_DIR": str(tmp_path), "RENKOU_NATS_URL": nats_url,
           "DJANGO_SETTINGS_MODULE": "renkou.settings"}
    env.pop("RENKOU_DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "renkou.cli", "bench", "exchange", "--messages", "100",  # noqa: S603
                             "--batch", "50", "--people", "100"], env=env, capture_output=True, text=True,
                            timeout=180, check=True)
    out = result.stdout
    assert re.search(r"matched and answered\s+100 of 100", out), out
    assert re.search(r"baseline: JetStream alone, no database, one message each\s+[\d,]+ messages/s", out)
    assert re.search(r"baseline: JetStream alone, no database, 250 per message\s+[\d,]+ messages/s", out)
    assert re.search(r"ratio exchange / baseline \(one message each\)\s+\d+\.\d\d", out)
    assert re.search(r"latency p50 / p95 / max\s+\d+ / \d+ / \d+ ms", out)
    assert "nodes: two processes, a database each (A: `renkou exchange run`" in out
    assert re.search(r"[\d.]+ s wall, CPU: A [\d.]+ s \+ B [\d.]+ s = [\d,]+ messages per CPU second", out)
    assert re.search(r"load average before / after \(1 min\)\s+[\d.]+ / [\d.]+ on \d+ cores", out)


@pytest.mark.any_database
def test_bench_exchange_in_one_process(nats_url, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(SRC), "RENKOU_DATA_DIR": str(tmp_path), "RENKOU_NATS_URL": nats_url,
           "DJANGO_SETTINGS_MODULE": "renkou.settings"}
    env.pop("RENKOU_DATABASE_URL", None)
    result = subprocess.run([sys.executable, "-m", "renkou.cli", "bench", "exchange", "--messages", "100",  # noqa: S603
                             "--batch", "50", "--people", "100", "--one-process"], env=env, capture_output=True,
                            text=True, timeout=180, check=True)
    out = result.stdout
    assert "nodes: both in this process and one database" in out
    assert re.search(r"matched and answered\s+100 of 100", out), out
    assert re.search(r"[\d.]+ s wall, [\d.]+ s CPU: [\d,]+ messages per CPU second", out)

"""renkou bench dedup: the duplicate scan on a synthetic county with known duplicates — time, precision, recall.

Builds (or reuses) a county of ``--persons`` persons with ``--rate`` of them registered a second time
(``renkou demo --duplicates``; the true pairs are in its truth.json) in ``--data-dir``, then, in a child process
with that county's settings, runs the scan exactly as ``renkou dedup`` does (read the register into Arrow, train
the Splink model on it, score the candidate pairs, store them) and measures it. Precision and recall are counted
against truth.json at ``--threshold`` and at a few other thresholds. In the same run, a baseline: the exact rule an
office would write by hand (the same ID number once both are in the 18-digit form, or the same name and birth
date), on the same Arrow table in DuckDB. Never run by the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TextIO

BENCH_MARKER = "bench-dedup.json"
THRESHOLDS = (0.3, 0.5, 0.7, 0.8, 0.9, 0.95)
GOAL_SECONDS, GOAL_RECALL, GOAL_PRECISION = 120.0, 0.95, 0.95


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="renkou bench dedup", description=__doc__.split("\n\n")[0])
    p.add_argument("--persons", type=int, default=1_000_000, help="size of the county (default 1000000)")
    p.add_argument("--rate", type=float, default=0.01, help="share of persons registered twice (default 0.01)")
    p.add_argument("--threshold", type=float, default=0.7, help="match probability of a pair (default 0.7)")
    p.add_argument("--seed", type=int, default=1, help="seed of the county")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="folder of the county's SQLite database (default var/bench-dedup-PERSONS-RATE); reused "
                        "when it holds a county of this size and rate")
    return p


def _child_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["RENKOU_DATA_DIR"] = str(data_dir)
    env.pop("RENKOU_DATABASE_URL", None)  # the bench's own SQLite file, never the install's database
    env.setdefault("DJANGO_SETTINGS_MODULE", "renkou.settings")
    return env


def _renkou(args: list[str], env: dict[str, str]) -> None:
    result = subprocess.run([sys.executable, "-m", "renkou.cli", *args], env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        raise SystemExit(f"renkou {' '.join(args)} failed with exit code {result.returncode}")


def _ensure_county(data_dir: Path, args: argparse.Namespace, env: dict[str, str], out: TextIO) -> None:
    marker = data_dir / BENCH_MARKER
    wanted = {"persons": args.persons, "rate": args.rate, "seed": args.seed}
    if marker.is_file():
        known = json.loads(marker.read_text())
        if known == wanted and (data_dir / "renkou.sqlite3").is_file():
            out.write(f"Reusing the county in {data_dir} ({args.persons:,} persons, {args.rate:.2%} duplicates).\n")
            _renkou(["migrate", "--verbosity", "0"], env)  # built by an older version of renkou
            return
        raise SystemExit(f"{data_dir} holds another county ({known}); choose another --data-dir.")
    if (data_dir / "renkou.sqlite3").exists():
        raise SystemExit(f"{data_dir} holds a database that this bench did not build; choose another --data-dir.")
    data_dir.mkdir(parents=True, exist_ok=True)
    out.write(f"Building a county of {args.persons:,} persons with {args.rate:.2%} duplicates in {data_dir} …\n")
    out.flush()
    started = time.perf_counter()
    _renkou(["migrate", "--verbosity", "0"], env)
    _renkou(["demo", "--persons", str(args.persons), "--seed", str(args.seed), "--duplicates", str(args.rate),
             "--truth", str(data_dir / "truth.json")], env)
    marker.write_text(json.dumps(wanted))
    out.write(f"Built in {time.perf_counter() - started:.0f} s.\n")


def _quality(found: set[tuple[int, int]], truth: set[tuple[int, int]]) -> dict[str, float]:
    hits = len(found & truth)
    return {"pairs": len(found), "true": hits, "precision": hits / len(found) if found else 0.0,
            "recall": hits / len(truth) if truth else 0.0}


BASELINE_SQL = """
SELECT least(a.unique_id, b.unique_id) AS id_a, greatest(a.unique_id, b.unique_id) AS id_b
FROM persons_prepared a JOIN persons_prepared b ON a.id17 = b.id17 AND a.unique_id < b.unique_id
UNION
SELECT least(a.unique_id, b.unique_id), greatest(a.unique_id, b.unique_id)
FROM persons_prepared a JOIN persons_prepared b ON a.name = b.name AND a.dob = b.dob AND a.unique_id < b.unique_id
"""


def measure(threshold: float, truth_path: Path) -> dict:
    """In the child process (the bench county's settings): the scan as the product runs it, and the baseline."""
    import django

    django.setup()
    import duckdb

    from renkou.dedup import engine
    from renkou.dedup.services import scan_run
    from renkou.registry.selectors_linkage import persons_for_linkage

    truth_doc = json.loads(truth_path.read_text(encoding="utf-8"))
    truth = {(min(a, b), max(a, b)) for a, b in truth_doc["duplicates"]["pairs"]}
    low = min(THRESHOLDS + (threshold,))
    started, cpu = time.perf_counter(), time.process_time()
    outcome = scan_run(by=None, threshold=low, channel="cli")
    scan_seconds, scan_cpu = time.perf_counter() - started, time.process_time() - cpu
    by_threshold = {}
    for t in sorted(set(THRESHOLDS + (threshold,))):
        found = {(a, b) for a, b, score in outcome.pairs if score >= t}
        by_threshold[str(t)] = _quality(found, truth)

    # The baseline, on the same table the scan reads (read again here: its time is part of the baseline too).
    started = time.perf_counter()
    table = persons_for_linkage()
    con = duckdb.connect()
    con.register("persons_input", engine.with_pinyin(table))
    con.execute(engine.PREPARE_SQL)
    rows = con.execute(BASELINE_SQL).fetchall()
    baseline_seconds = time.perf_counter() - started
    baseline = _quality({(a, b) for a, b in rows}, truth)
    return {"persons": outcome.scan.persons, "duplicates": len(truth), "scan_seconds": round(scan_seconds, 2),
            "scan_cpu_seconds": round(scan_cpu, 2), "load_average": os.getloadavg()[0],
            "stored_seconds": outcome.scan.seconds, "threshold": threshold, "by_threshold": by_threshold,
            "baseline": baseline, "baseline_seconds": round(baseline_seconds, 2), "kinds": truth_doc["duplicates"]["kinds"]}


def _report(out: TextIO, r: dict, args: argparse.Namespace) -> None:
    chosen = r["by_threshold"][str(args.threshold)]
    base = r["baseline"]
    out.write(f"\nrenkou bench dedup: {r['persons']:,} persons, {r['duplicates']:,} true duplicate pairs "
              f"(injected: {', '.join(f'{k} {v}' for k, v in r['kinds'].items())})\n\n")
    out.write(f"{'':<34}{'seconds':>9}{'pairs':>9}{'true':>8}{'precision':>11}{'recall':>8}\n")
    out.write(f"{'baseline (same ID / name+birth)':<34}{r['baseline_seconds']:>9.1f}{base['pairs']:>9,}"
              f"{base['true']:>8,}{base['precision']:>11.3f}{base['recall']:>8.3f}\n")
    out.write(f"{'Splink scan, p ≥ ' + str(args.threshold):<34}{r['scan_seconds']:>9.1f}{chosen['pairs']:>9,}"
              f"{chosen['true']:>8,}{chosen['precision']:>11.3f}{chosen['recall']:>8.3f}\n\n")
    out.write(f"The scan used {r['scan_cpu_seconds']:.0f} CPU seconds (all threads) in {r['scan_seconds']:.0f} s; "
              f"load average {r['load_average']:.1f} on {os.cpu_count()} cores.\n")
    out.write("Splink scan at other thresholds (the same run):\n")
    for t, q in r["by_threshold"].items():
        out.write(f"  p ≥ {t:<6} pairs {q['pairs']:>8,}  precision {q['precision']:.3f}  recall {q['recall']:.3f}\n")
    recall_ratio = chosen["recall"] / base["recall"] if base["recall"] else float("inf")
    found_more = chosen["true"] - base["true"]
    out.write(f"\nRatio against the baseline: recall ×{recall_ratio:.2f} ({found_more:+,} true pairs), precision "
              f"{chosen['precision']:.3f} vs {base['precision']:.3f}, time ×{r['scan_seconds'] / max(r['baseline_seconds'], 1e-9):.1f} "
              f"(the scan includes training the model and storing the pairs).\n")
    met = (r["scan_seconds"] <= GOAL_SECONDS and chosen["recall"] >= GOAL_RECALL
           and chosen["precision"] >= GOAL_PRECISION)
    out.write(f"Goal (under {GOAL_SECONDS:.0f} s, recall ≥ {GOAL_RECALL}, precision ≥ {GOAL_PRECISION}): "
              f"{'met' if met else 'NOT met'}.\n")


def run(argv: list[str], out: TextIO) -> None:
    args = _parser().parse_args(argv)
    if not 0 < args.rate <= 0.2:
        raise SystemExit("--rate must lie between 0 and 0.2.")
    data_dir = (args.data_dir or Path.cwd() / "var" / f"bench-dedup-{args.persons}-{args.rate}").resolve()
    env = _child_env(data_dir)
    _ensure_county(data_dir, args, env, out)
    out.write("Scanning …\n")
    out.flush()
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "renkou.bench.dedup", "--measure", str(args.threshold), str(data_dir / "truth.json")],
        env=env, check=False, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit(f"the scan failed with exit code {result.returncode}")
    _report(out, json.loads(result.stdout.strip().splitlines()[-1]), args)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        print(json.dumps(measure(float(sys.argv[2]), Path(sys.argv[3]))))
    else:
        run(sys.argv[1:], sys.stdout)

#!/usr/bin/env bash
# Set up and run the whole test suite: lint, migrations check, pytest on SQLite (with the browser tests),
# then again on PostgreSQL. Under CI=true a missing Chromium or PostgreSQL is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh test
export PATH="$PWD/.venv/bin:$PATH"
ci="${CI:-false}"

# System packages the tests use (Debian's): Chromium and CJK fonts for the browser tests (Playwright cannot
# download a browser here), LibreOffice Calc to open the report forms as an office user would.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-noto-cjk)
command -v soffice >/dev/null || missing+=(libreoffice-calc-nogui)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== installing ${missing[*]} (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  elif [ "$ci" = true ]; then
    echo "Missing system packages (${missing[*]}) and cannot install them (not root)." >&2; exit 1
  else
    echo "NOTE: ${missing[*]} missing: the tests that need them are skipped."
  fi
fi
if [ "$ci" = true ] && ! command -v java >/dev/null; then
  echo "Java (17 or newer) is required for the Spark tests under CI=true." >&2; exit 1
fi

# NATS with JetStream for the exchange tests; started the way these machines start it if it is down.
if ! (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null && [ "$(id -u)" = 0 ] && [ -x /usr/sbin/nats-server ]; then
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || true
  sleep 1
fi

pg_url="${RENKOU_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}"
pg_ready() { python - "$pg_url" <<'PY'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL not reachable at {sys.argv[1]}: {exc}", file=sys.stderr); sys.exit(1)
PY
}
if ! pg_ready && [ "$(id -u)" = 0 ] && command -v pg_ctlcluster >/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
  sleep 2
fi

export RENKOU_DATA_DIR="${RENKOU_DATA_DIR:-$(mktemp -d)}"
echo "== ruff"
ruff check src tests conftest.py
echo "== migrations are up to date"
renkou manage makemigrations --check --dry-run

echo "== tests on SQLite"
pytest -p no:cacheprovider -q -n 2 -m "not browser" "$@"
echo "== browser tests on SQLite"
# Their test database is a file (one per worker), not in memory: the live server's requests and the background jobs
# (imports, duplicate scans) use connections of their own, and an in-memory database shared between connections
# locks whole tables instead of waiting (SQLITE_LOCKED), where a file in WAL mode lets them wait their turn.
RENKOU_TEST_SQLITE="${RENKOU_TEST_SQLITE:-$RENKOU_DATA_DIR/test.sqlite3}" pytest -p no:cacheprovider -q -n 2 -m browser "$@"

echo "== tests on PostgreSQL ($pg_url)"
if pg_ready; then
  # Browser tests and tests that build their own SQLite database (benchmarks' smoke tests) ran in the pass above.
  RENKOU_DATABASE_URL="$pg_url" pytest -p no:cacheprovider -q -n 2 -m "not browser and not any_database" "$@"
elif [ "$ci" = true ]; then
  echo "PostgreSQL is required under CI=true." >&2; exit 1
else
  echo "SKIPPED: PostgreSQL is not reachable; start it or set RENKOU_TEST_POSTGRES_URL to run the suite on it."
fi

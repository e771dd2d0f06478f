"""The ``renkou`` command. Each subcommand is a Django management command; ``renkou --help`` lists them."""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

COMMANDS = {
    "serve": "start the web app (gunicorn); --demo builds the synthetic county on first run",
    "demo": "generate a synthetic county into the database",
    "migrate": "create or update the database tables",
    "createuser": "add a user with a role and a unit; --token prints an API token",
    "check": "check the configuration (add --deploy for production checks)",
    "import": "import persons, households, marriages or events from XLSX/CSV; --template writes a template",
    "export": "export a list (persons, events …) to XLSX or CSV, in scope and audited",
    "dedup": "find persons registered twice (Splink on DuckDB) and queue the pairs for review",
    "stats": "compute data elements and indicators (DuckDB or Spark) from register snapshots",
    "report": "write a statistical report form for a unit and period (xlsx, json, csv)",
    "datasets": "aggregate data sets: export values (DHIS2 JSON, ADX XML), import a DHIS2 dataValueSet",
    "exchange": "floating-population exchange: run the worker, show the status",
    "bench": "run a benchmark (renkou bench --help lists them)",
    "manage": "run any other Django management command (renkou manage <command> …)",
}


def _usage() -> str:
    lines = ["usage: renkou <command> [options]", "", "commands:"]
    lines += [f"  {name:<11} {text}" for name, text in COMMANDS.items()]
    lines += ["", "Run 'renkou <command> --help' for the options of a command.",
              "Settings come from the environment: RENKOU_DATABASE_URL, RENKOU_SECRET_KEY, RENKOU_DEBUG,",
              "RENKOU_DATA_DIR (see docs/settings.md)."]
    return "\n".join(lines)


def _ensure_demo_secret() -> None:
    """A demo install gets a random secret kept in the data folder, so sessions survive restarts."""
    if os.environ.get("RENKOU_SECRET_KEY"):
        return
    data_dir = Path(os.environ.get("RENKOU_DATA_DIR", Path.cwd() / "var")).resolve()
    key_file = data_dir / "secret_key"
    if not key_file.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(_usage())
        return
    if argv[0] == "--version":
        import renkou

        print(renkou.__version__)
        return
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"renkou: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
        sys.exit(2)
    if command == "serve" and "--demo" in rest:
        _ensure_demo_secret()
    if command == "manage":
        if not rest:
            rest = ["help"]
        command, rest = rest[0], rest[1:]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "renkou.settings")
    if command == "bench":
        _bench(rest)
        return
    from django.core.management import execute_from_command_line

    execute_from_command_line(["renkou", command, *rest])


def _bench(argv: list[str]) -> None:
    import importlib

    from renkou.bench import BENCHMARKS

    if not argv or argv[0] not in BENCHMARKS:
        print("usage: renkou bench NAME [options]\n\nbenchmarks:", file=sys.stderr)
        for name, text in BENCHMARKS.items():
            print(f"  {name:<8} {text}", file=sys.stderr)
        sys.exit(0 if argv and argv[0] in {"-h", "--help"} else 2)
    import django

    django.setup()
    importlib.import_module(f"renkou.bench.{argv[0]}").run(argv[1:], out=sys.stdout)


if __name__ == "__main__":
    main()

"""The renkou command, as a user runs it (subprocesses against a temporary data folder)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# every test runs the command line against its own SQLite database
pytestmark = pytest.mark.any_database

SUBCOMMANDS = ["serve", "demo", "migrate", "createuser", "check"]


def _run(args, tmp_path: Path, **env):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("RENKOU_")}
    full_env.update({"RENKOU_DATA_DIR": str(tmp_path), **env})
    return subprocess.run([sys.executable, "-m", "renkou.cli", *args], capture_output=True, text=True,
                          env=full_env, timeout=120)


def test_help_lists_the_subcommands(tmp_path):
    result = _run(["--help"], tmp_path)
    assert result.returncode == 0
    for name in SUBCOMMANDS:
        assert f"  {name} " in result.stdout


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_has_help(tmp_path, name):
    result = _run([name, "--help"], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "usage:" in result.stdout


def test_unknown_subcommand_fails_with_usage(tmp_path):
    result = _run(["frobnicate"], tmp_path)
    assert result.returncode == 2 and "unknown command" in result.stderr


def test_serve_refuses_the_default_secret_in_production_mode(tmp_path):
    result = _run(["serve", "--no-migrate"], tmp_path)
    assert result.returncode != 0
    assert "default secret key" in result.stderr


def test_check_deploy_reports_the_default_secret(tmp_path):
    result = _run(["check", "--deploy"], tmp_path)
    assert "renkou.E001" in result.stderr + result.stdout


def test_migrate_then_createuser_prints_a_working_token(tmp_path):
    assert _run(["migrate", "-v", "0"], tmp_path).returncode == 0
    script = (
        "from renkou.orgunits.services import unit_create;"
        "unit_create(code='500230000000', name='青山县', unit_type='county', parent=None)"
    )
    shell = _run(["manage", "shell", "--no-imports", "-c", script], tmp_path)
    assert shell.returncode == 0, shell.stderr
    created = _run(["createuser", "ops", "--role", "county_admin", "--unit", "500230000000", "--password",
                    "a-long-password-1", "--token"], tmp_path)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("rk_")
    probe = (
        "from renkou.accounts.services import token_authenticate;"
        f"print(token_authenticate({token!r}).username)"
    )
    assert _run(["manage", "shell", "--no-imports", "-c", probe], tmp_path).stdout.strip() == "ops"
    bad_unit = _run(["createuser", "x", "--role", "county_admin", "--unit", "999", "--no-password"], tmp_path)
    assert bad_unit.returncode != 0 and "No unit" in bad_unit.stderr


def test_settings_come_from_the_environment(tmp_path):
    probe = "from django.conf import settings; import json; print(json.dumps([settings.DEBUG, settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['NAME']]))"
    out = _run(["manage", "shell", "--no-imports", "-c", probe], tmp_path)
    debug, engine, name = json.loads(out.stdout)
    assert debug is False and engine.endswith("sqlite3") and name == str(tmp_path / "renkou.sqlite3")
    other = tmp_path / "other.db"
    out = _run(["manage", "shell", "--no-imports", "-c", probe], tmp_path, RENKOU_DEBUG="true",
               RENKOU_DATABASE_URL=f"sqlite:///{other}")
    assert json.loads(out.stdout) == [True, engine, str(other)]

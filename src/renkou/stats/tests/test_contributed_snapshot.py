"""Contributed elements in snapshot runs: ``renkou stats snapshot`` writes the providers' values, ``renkou stats
--snapshots DIR…`` puts them beside the engine's rows — the same values as the live providers give, also for a
snapshot recoded as another county, and a period the snapshot does not hold is named."""

from __future__ import annotations

import io
from datetime import date

import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.utils import timezone

from renkou.orgunits.periods import Period
from renkou.registry.models import Person
from renkou.stats import contributed
from renkou.stats.snapshot import snapshot_copy_as, snapshot_dir, snapshot_ensure
from renkou.testing import make_person

CODE = "TEST_BORN_HERE"
# the exported periods are counted back from today: the tests' dates follow it
Y = timezone.localdate().year - 1


def _provide(unit_codes, periods):
    """Persons living in a village born within the period, by sex (a provider reading the register's rows)."""
    rows = list(Person.objects.filter(residence_unit__isnull=False).values_list("residence_unit__code", "sex",
                                                                                "birth_date"))
    for p in periods:
        counts: dict[tuple[str, str], int] = {}
        for unit, sex, born in rows:
            if p.start <= born <= p.end and (unit_codes is None or unit in unit_codes):
                for coc in ("", "MALE" if sex == "1" else "FEMALE"):
                    counts[(unit, coc)] = counts.get((unit, coc), 0) + 1
        for (unit, coc), n in counts.items():
            yield CODE, coc, unit, p.code, n


@pytest.fixture
def provider():
    contributed.register_elements("snaptest", [contributed.ContributedElement(
        CODE, "本地出生", "Born here", (("MALE", "男", "Male"), ("FEMALE", "女", "Female")))], _provide)
    yield
    contributed.unregister("snaptest")


def _values(path) -> dict[tuple[str, str, str, str], float]:
    t = pq.read_table(path).to_pydict()
    return {(d, c, u, p): v for d, c, u, p, v in zip(t["data_element"], t["coc"], t["org_unit"], t["period"],
                                                      t["value"], strict=True)
            if contributed.contributed_get(d) is not None}


def _live(periods) -> dict[tuple[str, str, str, str], float]:
    return {(d, c, u, p): v for d, c, u, p, v in contributed.rows(periods)}


def test_a_snapshot_run_gives_the_live_providers_values(provider, county, personas, tmp_path):
    for i, (born, sex) in enumerate([(date(Y, 2, 1), "1"), (date(Y, 8, 9), "2"), (date(Y - 1, 12, 31), "2")]):
        make_person([county.dc_village1, county.xc_village1][i % 2], name=f"孩{i}", sex=sex, birth_date=born)
    out = io.StringIO()
    call_command("stats", "snapshot", "--contributed-years", "3", stdout=out)
    assert "contributed" in out.getvalue()
    periods = [Period.parse(c) for c in (f"{Y}", f"{Y}Q1", f"{Y}S2", f"FP{Y}", f"{Y - 1}12")]
    call_command("stats", "--snapshots", str(snapshot_dir()), *[a for p in periods for a in ("--period", p.code)],
                 "-o", str(tmp_path / "v.parquet"), stdout=out)
    got = _values(tmp_path / "v.parquet")
    live = _live(periods)
    assert got == live
    assert got[(CODE, "", county.dc_village1.code, f"{Y}")] == 1
    assert got[(CODE, "FEMALE", county.xc_village1.code, f"{Y}")] == 1
    assert got[(CODE, "", county.dc_village1.code, f"{Y - 1}12")] == 1
    # the engine's own elements are still there
    assert pq.read_table(tmp_path / "v.parquet").to_pydict()["data_element"].count("POP_END") > 0


def test_a_recoded_snapshot_carries_its_values_and_missing_periods_are_named(provider, county, personas, tmp_path,
                                                                             capsys):
    make_person(county.dc_village1, name="孩", sex="1", birth_date=date(Y, 2, 1))
    call_command("stats", "snapshot", "--contributed-years", "3", stdout=io.StringIO())
    other = snapshot_copy_as(snapshot_ensure().path, tmp_path / "other", "510100")
    err = io.StringIO()
    call_command("stats", "--snapshots", str(snapshot_dir()), str(other), "--period", f"{Y}", "--period", f"{Y - 6}",
                 "-o", str(tmp_path / "v.parquet"), stdout=io.StringIO(), stderr=err)
    got = _values(tmp_path / "v.parquet")
    here = county.dc_village1.code
    assert got[(CODE, "", here, f"{Y}")] == 1 and got[(CODE, "", "510100" + here[6:], f"{Y}")] == 1
    assert not any(k[3] == f"{Y - 6}" for k in got)
    assert f"{Y - 6}" in err.getvalue() and str(other) in err.getvalue()


def test_a_refresh_keeps_the_exported_values(provider, county, personas):
    make_person(county.dc_village1, name="孩", sex="1", birth_date=date(Y, 2, 1))
    call_command("stats", "snapshot", "--contributed-years", "3", stdout=io.StringIO())
    make_person(county.dc_village2, name="又", sex="2", birth_date=date(Y, 3, 1))
    info = snapshot_ensure()
    assert info.mode == "refresh"
    found = contributed.snapshot_values([info.path], [Period.parse(f"{Y}")])
    assert found.missing == {}
    # a copy as of the export: the person added since is not in it until the next export
    assert {(r["org_unit"], r["value"]) for r in found.table.to_pylist() if r["data_element"] == CODE
            and r["coc"] == ""} == {(county.dc_village1.code, 1.0)}

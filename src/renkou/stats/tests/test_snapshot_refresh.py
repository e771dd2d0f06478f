"""The incremental refresh of the snapshot equals a full build, table by table, after random edits of the register
through its services (new and corrected persons, births — some registered late, renumbering later ones —, deaths,
moves, marriages and divorces, merges); a deletion makes it a full build; only the changed rows are fetched; a
reader holding a version keeps it while a new one is published."""

from __future__ import annotations

import random
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from django.utils import timezone

from renkou.core.errors import NotFound, RuleViolation
from renkou.registry.models import Event, Marriage, Person
from renkou.registry.services import (
    birth_register,
    death_register,
    marriage_end,
    marriage_register,
    move_in_register,
    move_out_register,
    person_merge,
    person_update,
)
from renkou.stats import snapshot
from renkou.stats.snapshot import (
    RAW_TABLES,
    TABLES,
    raw_store,
    snapshot_build,
    snapshot_ensure,
    snapshot_meta,
)
from renkou.testing import make_person


@pytest.fixture(autouse=True)
def _exact_marks(monkeypatch):
    # Tests run inside one transaction, where no lock is taken: without an overlap, the refresh fetches exactly the
    # rows written after the previous read, which is what these tests check.
    monkeypatch.setattr(snapshot, "UNLOCKED_OVERLAP", timedelta(0))


def _tables(path: Path, store: Path) -> dict[str, list[dict]]:
    out = {}
    for name in TABLES:
        rows = pq.read_table(path / f"{name}.parquet").to_pylist()
        out[name] = sorted(rows, key=lambda r: [(v is None, str(v)) for v in r.values()])
    con = duckdb.connect(str(store), read_only=True)
    try:
        for name in RAW_TABLES:
            out[f"raw {name}"] = sorted(con.sql(f"SELECT * FROM stored_{name}").to_arrow_table().to_pylist(),
                                        key=lambda r: r["id"])
    finally:
        con.close()
    return out


def _assert_equal_to_full(tmp_path: Path, refreshed: Path, label: str) -> None:
    full = snapshot_build(tmp_path / "full").path
    a = _tables(refreshed, raw_store(snapshot.snapshot_dir()))
    b = _tables(full, raw_store(tmp_path / "full"))
    for name in a:
        assert a[name] == b[name], f"{label}: table {name} differs from a full build"


def _assert_stored_stocks_equal_counted(path: Path, label: str) -> None:
    """Every period of every type of the years the snapshot keeps its stocks for: the figures read from the kept
    month-end stocks equal the figures counted from the spells."""
    from renkou.orgunits.periods import Period
    from renkou.stats import engine

    meta = snapshot_meta(path)
    first, last = date.fromisoformat(meta["stocks"]["first"]), date.fromisoformat(meta["stocks"]["last"])
    years = range(first.year + 1, last.year + 1)
    periods = [Period.parse(c) for y in years for c in (
        str(y), f"FP{y}", f"{y}S1", f"{y}S2", f"FP{y}H1", f"FP{y}H2", *(f"{y}Q{q}" for q in range(1, 5)),
        *(f"{y}{m:02d}" for m in range(1, 13)))]
    dates = engine.period_tables(periods)["dates"]["d"].to_pylist()
    assert engine.stocks_cover([path], dates)
    stored = engine.run_duckdb([path], periods, stored_stocks=True).as_dict()
    counted = engine.run_duckdb([path], periods, stored_stocks=False).as_dict()
    assert stored == counted, f"{label}: stored stocks differ from counted ones"
    assert any(k[0] == "WOMEN_MEAN_AGE1" and v for k, v in stored.items()), label


def _random_day(rng: random.Random, lo: date = date(2005, 1, 1), hi: date = date(2025, 12, 31)) -> date:
    return lo + timedelta(days=rng.randrange((hi - lo).days))


class Editor:
    """Random edits through the register's services; an edit its rules refuse is skipped."""

    def __init__(self, rng: random.Random, county, by):
        self.rng, self.county, self.by = rng, county, by
        self.villages = [county.dc_village1, county.dc_village2, county.xc_village1, county.xc_village2,
                         county.lh_village1]
        self.done: list[str] = []

    def persons(self, **filters) -> list[Person]:
        return list(Person.objects.filter(merged_into__isnull=True, **filters).order_by("pk"))

    def pick(self, items):
        return self.rng.choice(items) if items else None

    def new_person(self):
        sex = self.rng.choice("12")
        make_person(self.rng.choice(self.villages), name="新人", sex=sex,
                    birth_date=_random_day(self.rng, date(1950, 1, 1), date(2004, 1, 1)))

    def correct_person(self):
        p = self.pick(self.persons())
        field, value = self.rng.choice([("registration_type", self.rng.choice(["rural", "urban"])),
                                        ("marital_status", self.rng.choice(["10", "20", "90"])),
                                        ("birth_date", p.birth_date - timedelta(days=self.rng.randrange(1, 400)))])
        person_update(by=self.by, person=p, changes={field: value})

    def birth(self):
        mother = self.pick(self.persons(sex="2", death_date__isnull=True))
        live = self.rng.random() < 0.9
        birth_register(by=self.by, mother=mother, born_on=_random_day(self.rng), sex=self.rng.choice("12"),
                       live_born=live, name="孩子" if live else "")

    def death(self):
        p = self.pick(self.persons(death_date__isnull=True))
        death_register(by=self.by, person=p, died_on=_random_day(self.rng, date(2024, 1, 1)))

    def move(self):
        p = self.pick(self.persons(death_date__isnull=True))
        on = _random_day(self.rng, date(2023, 1, 1))
        if p.residence_status in ("out", "left"):
            move_in_register(by=self.by, person=p, moved_on=on, to_unit=self.rng.choice(self.villages),
                             from_county="110105")
        elif self.rng.random() < 0.5:
            move_out_register(by=self.by, person=p, moved_on=on, to_unit=self.rng.choice(self.villages))
        else:
            move_out_register(by=self.by, person=p, moved_on=on, to_county="110105",
                              registration_moved=self.rng.random() < 0.5)

    def marry(self):
        man = self.pick(self.persons(sex="1", death_date__isnull=True))
        woman = self.pick(self.persons(sex="2", death_date__isnull=True))
        marriage_register(by=self.by, husband=man, wife=woman, married_on=_random_day(self.rng, date(2015, 1, 1)))

    def divorce(self):
        m = self.pick(list(Marriage.objects.filter(ended_on__isnull=True).order_by("pk")))
        marriage_end(by=self.by, marriage=m, ended_on=_random_day(self.rng, date(2024, 1, 1)))

    def merge(self):
        sex = self.rng.choice("12")
        a, b = self.pick(self.persons(sex=sex)), self.pick(self.persons(sex=sex))
        person_merge(by=self.by, survivor=a, duplicate=b)

    def edit(self) -> None:
        op = self.rng.choice([self.new_person, self.correct_person, self.birth, self.birth, self.death, self.move,
                              self.move, self.marry, self.divorce, self.merge])
        try:
            op()
            self.done.append(op.__name__)
        except (RuleViolation, NotFound, AttributeError):
            # refused by the register's rules, or nobody to pick (AttributeError on None)
            pass


def _seed_register(county, by, rng: random.Random, n: int = 30) -> None:
    villages = [county.dc_village1, county.dc_village2, county.xc_village1, county.lh_village1]
    for i in range(n):
        make_person(villages[i % len(villages)], name=f"人{i}", sex="12"[i % 2],
                    birth_date=_random_day(rng, date(1960, 1, 1), date(2000, 1, 1)))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_refresh_after_random_edits_equals_a_full_build(county, personas, tmp_path, seed):
    rng = random.Random(seed)
    _seed_register(county, personas.admin, rng)
    first = snapshot_ensure()
    assert first.mode == "full"
    editor = Editor(rng, county, personas.admin)
    for round_ in range(5):
        for _ in range(rng.randrange(1, 12)):
            editor.edit()
        info = snapshot_ensure()
        label = f"seed {seed}, round {round_}: {editor.done}"
        if info.mode == "current":
            continue
        assert info.mode == "refresh", f"{label}: {info.why_full}"
        _assert_equal_to_full(tmp_path, info.path, label)
    _assert_stored_stocks_equal_counted(snapshot_ensure().path, f"seed {seed}")
    assert len(set(editor.done)) >= 6, editor.done  # the edits did exercise most write paths


def test_refresh_fetches_only_the_rows_changed_since_the_last_read(county, personas, tmp_path):
    _seed_register(county, personas.admin, random.Random(7))
    w = make_person(county.dc_village1, name="母", sex="2", birth_date=date(1990, 1, 1))
    snapshot_ensure()
    birth_register(by=personas.admin, mother=w, born_on=date(2024, 3, 1), sex="1", name="子")
    info = snapshot_ensure()
    # the new child; the birth; no marriage; households are read by id (none new)
    assert (info.mode, info.changed) == ("refresh", {"persons": 1, "households": 0, "events": 1, "marriages": 0})
    assert info.rows["persons"] == Person.objects.count()
    _assert_equal_to_full(tmp_path, info.path, "one birth")
    assert snapshot_ensure().mode == "current"


def test_a_deleted_row_makes_a_full_build(county, personas, tmp_path):
    _seed_register(county, personas.admin, random.Random(8))
    w = make_person(county.dc_village1, name="母", sex="2", birth_date=date(1990, 1, 1))
    e = birth_register(by=personas.admin, mother=w, born_on=date(2024, 3, 1), live_born=False, sex="1")
    snapshot_ensure()
    Event.objects.filter(pk=e.pk).delete()  # no service deletes an event: the snapshot must still notice
    make_person(county.dc_village1, name="新", sex="1")  # so that the fingerprint changes whatever else does
    info = snapshot_ensure()
    assert info.mode == "full" and info.why_full.startswith("events:"), info.why_full
    assert info.rows["events"] == 0
    _assert_equal_to_full(tmp_path, info.path, "deleted event")


def test_without_its_raw_tables_a_snapshot_is_built_in_full(county, personas):
    _seed_register(county, personas.admin, random.Random(9))
    snapshot_ensure()
    raw_store(snapshot.snapshot_dir()).unlink()
    make_person(county.dc_village1, name="新", sex="1")
    again = snapshot_ensure()
    assert (again.mode, again.why_full) == ("full", "no raw tables")
    make_person(county.dc_village1, name="又", sex="1")
    assert snapshot_ensure().mode == "refresh"


def test_a_reader_keeps_its_version_while_a_new_one_is_published(county, personas):
    _seed_register(county, personas.admin, random.Random(10))
    held = snapshot_ensure().path
    before = pq.read_table(held / "persons.parquet").num_rows
    make_person(county.dc_village1, name="新", sex="1")
    newer = snapshot_ensure().path
    assert newer != held and held.exists()
    assert pq.read_table(held / "persons.parquet").num_rows == before
    assert pq.read_table(newer / "persons.parquet").num_rows == before + 1
    assert snapshot.snapshot_dir().resolve() == newer
    make_person(county.dc_village1, name="又一个", sex="2")
    newest = snapshot_ensure().path
    assert not held.exists() and newer.exists() and newest.exists()  # the current and the previous version


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_read_holds_the_write_lock_and_keeps_the_short_overlap(county, personas, tmp_path,
                                                                                         monkeypatch):
    monkeypatch.setattr(snapshot, "OVERLAP", timedelta(seconds=1))
    monkeypatch.setattr(snapshot, "UNLOCKED_OVERLAP", timedelta(hours=1))
    _seed_register(county, personas.admin, random.Random(11))
    w = make_person(county.dc_village1, name="母", sex="2", birth_date=date(1990, 1, 1))
    time.sleep(1.1)  # the rows written within the overlap before a read are fetched again by the next refresh
    first = snapshot_ensure()
    since = datetime.fromisoformat(snapshot_meta(first.path)["marks"]["since"])
    assert timedelta(0) < timezone.now() - since < timedelta(minutes=1)  # the lock was had: OVERLAP, not UNLOCKED
    birth_register(by=personas.admin, mother=w, born_on=date(2024, 3, 1), sex="1", name="子")
    info = snapshot_ensure()
    assert (info.mode, info.changed) == ("refresh", {"persons": 1, "households": 0, "events": 1, "marriages": 0})
    _assert_equal_to_full(tmp_path, info.path, "outside a transaction")


def test_a_correction_reaches_the_events_and_spells_that_read_the_person(county, personas, tmp_path):
    """The derived events carry the mother's birth date and the person's sex and status, the spells the person's
    attributes: a correction of the person alone must be derived into them."""
    admin = personas.admin
    _seed_register(county, admin, random.Random(12))
    mother = make_person(county.dc_village1, name="母", sex="2", birth_date=date(1990, 1, 1), id_number=None)
    birth_register(by=admin, mother=mother, born_on=date(2020, 3, 1), sex="1", name="子")
    old = make_person(county.xc_village1, name="老", sex="1", birth_date=date(1940, 1, 1), id_number=None)
    move_out_register(by=admin, person=old, moved_on=date(2022, 1, 1), to_unit=county.lh_village1)
    death_register(by=admin, person=old, died_on=date(2024, 1, 1))
    snapshot_ensure()
    person_update(by=admin, person=mother, changes={"birth_date": date(1989, 6, 1)})
    person_update(by=admin, person=old, changes={"sex": "2"})
    info = snapshot_ensure()
    assert (info.mode, info.changed["events"]) == ("refresh", 0)
    _assert_equal_to_full(tmp_path, info.path, "corrections of a mother and of a dead mover")


def test_a_refresh_after_bulk_imports_equals_a_full_build(county, personas, tmp_path):
    """The imports write in bulk (tuples, COPY on PostgreSQL), past the models' ``auto_now``: the persons they
    create and correct and the events they add must carry the marker all the same."""
    from renkou.intake.services import import_file
    from renkou.intake.synthetic import persons_rows, write_csv

    villages = [county.dc_village1.code, county.dc_village2.code, county.xc_village1.code]
    rows = persons_rows(40, villages, seed=7)
    first = tmp_path / "p1.csv"
    write_csv(first, rows[:30])
    run, _ = import_file(by=personas.admin, kind="persons", data=first.read_bytes(), file_name="p1.csv")
    assert run.created == 30
    assert snapshot_ensure().mode == "full"
    # Ten new persons and three moved to another village in a second file.
    for row in rows[:3]:
        row[7] = county.xc_village1.code if row[7] != county.xc_village1.code else county.dc_village1.code
    second = tmp_path / "p2.csv"
    write_csv(second, rows)
    run, _ = import_file(by=personas.admin, kind="persons", data=second.read_bytes(), file_name="p2.csv")
    assert (run.created, run.updated) == (10, 3), (run.created, run.updated, run.unchanged, run.rejected)
    info = snapshot_ensure()
    assert info.mode == "refresh", info.why_full
    _assert_equal_to_full(tmp_path, info.path, "after the persons import")
    _assert_stored_stocks_equal_counted(info.path, "after the persons import")
    persons = pq.read_table(info.path / "persons.parquet")
    assert persons.num_rows == 40


def test_a_marriage_row_changed_alone_reaches_the_married_women_stocks(county, personas, tmp_path):
    """A marriage whose dates change while neither spouse's row does (a correction of the marriage record alone):
    the wife's part in the married-women stocks is taken out as it was and put back as it is."""
    _seed_register(county, personas.admin, random.Random(9))
    h = make_person(county.dc_village1, name="夫", sex="1", birth_date=date(1985, 1, 1))
    w = make_person(county.dc_village1, name="妻", sex="2", birth_date=date(1988, 1, 1))
    m = marriage_register(by=personas.admin, husband=h, wife=w, married_on=date(2018, 5, 1),
                          unit=county.dc_village1)
    snapshot_ensure()
    Marriage.objects.filter(pk=m.pk).update(married_on=date(2021, 7, 1), updated_at=timezone.now())
    info = snapshot_ensure()
    assert (info.mode, info.changed["persons"], info.changed["marriages"]) == ("refresh", 0, 1)
    _assert_equal_to_full(tmp_path, info.path, "a marriage corrected alone")
    _assert_stored_stocks_equal_counted(info.path, "a marriage corrected alone")

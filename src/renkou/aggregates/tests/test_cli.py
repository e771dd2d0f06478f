"""renkou datasets export / import through the management command."""

from __future__ import annotations

import json
from io import StringIO
from xml.etree import ElementTree as ET

import pytest
from django.core.management import CommandError, call_command

from renkou.aggregates.formats import ADX_NS
from renkou.aggregates.models import CodeMapping, DataValue
from renkou.aggregates.selectors import data_set_get
from renkou.aggregates.services import values_save
from renkou.cli import COMMANDS

pytestmark = pytest.mark.django_db


@pytest.fixture
def stored(county, personas):
    values_save(by=personas.statistician, data_set=data_set_get(code="FAMSVC_M"), unit=county.dongcheng,
                period="202501", entries={"PUBLICITY_EVENTS": "3", "CONSULTATIONS.FEMALE": "8"})
    CodeMapping.objects.create(system="moh", kind="element", renkou_code="PUBLICITY_EVENTS", external_id="dePub")
    return county


def test_export_dhis2_then_import_dry_run_and_for_real(stored, personas, tmp_path):
    assert "datasets" in COMMANDS
    out = tmp_path / "values.json"
    call_command("datasets", "export", "--format", "dhis2", "--unit", "500230000000", "--start", "2025",
                 "--system", "moh", "--user", "statistician", "-o", str(out))
    body = json.loads(out.read_text(encoding="utf-8"))
    assert sorted((v["dataElement"], v["value"]) for v in body["dataValues"]) == [("CONSULTATIONS", "8"),
                                                                                   ("dePub", "3")]
    DataValue.objects.all().delete()
    buf = StringIO()
    call_command("datasets", "import", str(out), "--dry-run", "--system", "moh", "--user", "dongcheng", stdout=buf)
    assert json.loads(buf.getvalue())["importCount"]["imported"] == 2 and not DataValue.objects.exists()
    buf = StringIO()
    call_command("datasets", "import", str(out), "--system", "moh", "--user", "dongcheng", stdout=buf)
    assert json.loads(buf.getvalue())["status"] == "SUCCESS"
    assert sorted(DataValue.objects.values_list("element__code", "value")) == [("CONSULTATIONS", "8"),
                                                                               ("PUBLICITY_EVENTS", "3")]


def test_export_adx(stored, tmp_path):
    out = tmp_path / "values.xml"
    call_command("datasets", "export", "--format", "adx", "--unit", "500230001000", "--start", "202501",
                 "--data-set", "FAMSVC_M", "--user", "dongcheng", "-o", str(out))
    root = ET.parse(out).getroot()
    [group] = root.findall(f"{{{ADX_NS}}}group")
    assert group.get("period") == "2025-01-01/P1M" and group.get("dataSet") == "FAMSVC_M"
    assert {(d.get("dataElement"), d.get("categoryOptionCombo")) for d in group} == {
        ("PUBLICITY_EVENTS", None), ("CONSULTATIONS", "FEMALE")}


def test_clear_errors(stored, tmp_path):
    with pytest.raises(CommandError, match="area"):
        call_command("datasets", "export", "--unit", "500230001000", "--start", "2025", "--user", "xicheng")
    with pytest.raises(CommandError, match="20x5"):
        call_command("datasets", "export", "--unit", "500230001000", "--start", "20x5", "--user", "dongcheng")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match="bad.json"):
        call_command("datasets", "import", str(bad), "--user", "dongcheng")
    conflicting = tmp_path / "c.json"
    conflicting.write_text(json.dumps({"dataValues": [{"dataElement": "X", "period": "202501",
                                                       "orgUnit": "500230001000", "value": "1"}]}))
    with pytest.raises(CommandError, match="Nothing was imported"):
        call_command("datasets", "import", str(conflicting), "--user", "dongcheng", stdout=StringIO())


def test_demo_fills_the_data_sets_through_the_import(county, personas):
    from renkou.aggregates.models import CompleteRegistration
    from renkou.aggregates.selectors import data_set_get, reporting
    from renkou.orgunits.periods import Period

    call_command("datasets", "demo", "--user", "statistician", "--months", "6", "--seed", "3",
                 stderr=StringIO())
    assert DataValue.objects.filter(element__code="PUBLICITY_EVENTS").count() >= 10
    fam = data_set_get(code="FAMSVC_M")
    months = sorted(set(CompleteRegistration.objects.filter(data_set=fam).values_list("period", flat=True)))
    assert len(months) == 6
    [total, *_children] = reporting(fam, county.county, Period.parse(months[0]), Period.parse(months[-1]))
    assert total.expected == 18 and 0 < total.actual <= 18 and 0 < total.on_time <= total.actual
    by_form: dict = {}
    for code, unit, period, value in DataValue.objects.filter(
            element__code__in=["REWARD_PERSONS", "REWARD_AMOUNT"]).values_list("element__code", "unit", "period", "value"):
        by_form.setdefault((unit, period), {})[code] = float(value)
    assert by_form and all(f["REWARD_AMOUNT"] == f["REWARD_PERSONS"] * 240 for f in by_form.values())

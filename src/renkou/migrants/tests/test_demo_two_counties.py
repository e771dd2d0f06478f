"""The two-county demo: the first county's side, the second county's register and side, a real exchange.

In production (and in docs/exchange.md's commands) each county has its own database; here both live in the test
database, so the second county's copies of the shared persons carry no ID number (the column is unique) and
are matched by name and birth date."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.core.management import call_command

from renkou.demo.second_county import first_county_seed, partner_export
from renkou.migrants.models import ExchangeRequest, InboxMessage, MigrantRecord, OutboxMessage
from renkou.migrants.node import Node, drain
from renkou.migrants.tests.conftest import A, B, person_in
from renkou.migrants.transports import InProcessBroker, InProcessTransport
from renkou.registry.models import Person

pytestmark = pytest.mark.django_db


def test_two_county_demo_exchanges_both_ways(county, tmp_path):
    for i in range(6):  # our residents living in B
        p = person_in(county.dc_village1, name=f"外出{i}", sex="2" if i % 2 else "1",
                      birth_date=date(1990, 1, 1 + i))
        Person.objects.filter(pk=p.pk).update(residence_status="out", other_county_code=B)
    for i in range(4):  # B's residents living here
        p = person_in(county.xc_village1, name=f"流入{i}", birth_date=date(1992, 2, 1 + i), id_number=None)
        Person.objects.filter(pk=p.pk).update(residence_status="in", other_county_code=B)
    export = partner_export(county_code=A, partner=B)
    assert (len(export["ours_living_there"]), len(export["theirs_living_here"])) == (6, 4)
    first = first_county_seed(export=export)
    assert first["records"] == 4 and first["requests"] >= 3
    path = tmp_path / "partner.json"
    path.write_text(json.dumps(export, ensure_ascii=False), encoding="utf-8")
    call_command("demo", "--second-county", B, "--partner-file", str(path), "--persons", "100")
    assert Person.objects.filter(registration_unit__code__startswith=B).count() >= 100
    assert MigrantRecord.objects.filter(county_code=B, direction="in").count() == 6

    broker = InProcessBroker()
    a, b = Node(A, InProcessTransport(broker)), Node(B, InProcessTransport(broker))
    drain([a, b], until=lambda: not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
          and not broker.backlog(A) and not broker.backlog(B))
    # Each county's case records found the persons in the other's register.
    assert MigrantRecord.objects.filter(county_code=A, direction="out").count() == 6
    assert MigrantRecord.objects.filter(county_code=B, direction="out").count() == 4
    # Requests about real persons were answered automatically; the made-up ones wait in each unmatched queue.
    for own in (A, B):
        assert InboxMessage.objects.filter(county_code=own, status="unmatched").count() == 3
        sent = ExchangeRequest.objects.filter(county_code=own, role="sent")
        assert sent.filter(matched=True).count() == sent.count() - 3
    assert ExchangeRequest.objects.filter(county_code=A, kind="birth_notice", role="received").count() == 3


def test_demo_partner_command_writes_the_file(county, tmp_path):
    p = person_in(county.dc_village1, name="外出", birth_date=date(1990, 1, 1))
    Person.objects.filter(pk=p.pk).update(residence_status="out", other_county_code=B)
    path = tmp_path / "p.json"
    call_command("exchange", "demo-partner", "--partner", B, "--file", str(path))
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["county"] == A and [r["name"] for r in data["ours_living_there"]] == ["外出"]

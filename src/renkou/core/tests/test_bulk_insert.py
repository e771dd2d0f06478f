"""core.bulk.insert_tuples and JSONText: rows given as tuples of some columns, the others their defaults; JSON
already encoded written as it is. gc_paused restores the collector."""

import gc
import json
from datetime import date

import pytest
from django.db import connection, transaction

from renkou.accounts.models import AuditEntry
from renkou.core.bulk import JSONText, gc_paused, insert_tuples, json_string
from renkou.registry.models import Person, PersonHistory

pytestmark = pytest.mark.django_db


def test_tuples_take_their_columns_and_the_defaults(county):
    with transaction.atomic():
        ids = insert_tuples(AuditEntry, ("username", "action", "object_type", "object_id", "detail"), [
            ("a", "create", "person", "1", {"what": "create", "person": 1}),
            ("b", "update", "person", "2", JSONText('{"what": "update", "person": 2}')),
        ])
    first, second = AuditEntry.objects.get(pk=ids[0]), AuditEntry.objects.get(pk=ids[1])
    assert (first.username, first.detail, first.purpose, first.user_id, first.ip_address) == (
        "a", {"what": "create", "person": 1}, "", None, None)
    assert second.detail == {"what": "update", "person": 2}
    assert first.at is not None and first.at == second.at  # auto_now_add: the time of the call
    assert ids[1] == ids[0] + 1


def test_json_text_is_written_as_it_is_and_a_string_literal_as_the_encoder_writes_it(county):
    person = Person.objects.create(name="王芳", sex="2", birth_date=date(1990, 1, 1),
                                   residence_unit=county.dc_village1, registration_unit=county.dc_village1)
    name = '王"芳\\\n'
    assert json_string(name) == json.dumps(name, ensure_ascii=False)
    with transaction.atomic():
        (pk,) = insert_tuples(PersonHistory, ("person_id", "at", "username", "action", "changes"), [
            (person.pk, person.created_at, "x", "import", JSONText(f'{{"name": [null, {json_string(name)}]}}'))])
    assert PersonHistory.objects.get(pk=pk).changes == {"name": [None, name]}
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT changes FROM registry_personhistory WHERE id = %s", [pk])
            assert cursor.fetchone()[0] == json.dumps({"name": [None, name]}, ensure_ascii=False)


def test_unknown_columns_and_the_primary_key_are_refused():
    with transaction.atomic():
        with pytest.raises(TypeError, match="no column"):
            insert_tuples(AuditEntry, ("usrname",), [("a",)])
        with pytest.raises(TypeError, match="no column"):
            insert_tuples(AuditEntry, ("id", "username"), [(1, "a")])


def test_gc_paused_nests_and_restores_the_collector():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # off before: left off
    finally:
        gc.enable()

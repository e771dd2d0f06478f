"""Merging from the duplicate queue in a real browser: scan, open the best pair, keep one record, merge; then mark
another pair as two people."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from renkou.dedup.models import CandidatePair, PairStatus
from renkou.dedup.tests.factories import build_register
from renkou.registry.models import Person
from renkou.testing import PASSWORD

# serialized_rollback in the mark (not only the fixture) makes pytest-django serialize the database when it creates
# it, so that the code lists loaded by migrations are restored after this test flushes the tables.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def log_in(page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("form[action='/login/'] button[type=submit]").click()
    expect(page.locator(".user-name")).to_be_visible()


def test_an_officer_scans_and_merges_a_pair_from_the_queue(page, county, personas):
    register = build_register(county, n=300)
    log_in(page, "dongcheng")
    page.get_by_role("link", name="Duplicates", exact=True).click()
    expect(page.get_by_text("No scan has been run yet.")).to_be_visible()
    # The scan runs in the background; the page polls its state until it is done (allow for a busy machine).
    page.get_by_role("button", name="Scan for duplicates").click()
    expect(page.locator("#scan-status")).to_be_visible()
    expect(page.locator("#scan-status .message.success")).to_contain_text("likely duplicate pairs", timeout=90_000)
    page.get_by_role("link", name="Show the pairs").click()
    rows = page.locator("table.dedup-queue tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 20

    # The best pair, side by side; ID numbers masked.
    rows.first.get_by_role("link", name="Review").click()
    expect(page).to_have_url(re.compile(r"/duplicates/\d+/$"))
    pair = CandidatePair.objects.get(pk=int(page.url.rstrip("/").rsplit("/", 1)[1]))
    expect(page.locator("table.dedup-pair")).to_contain_text(pair.person_a.name)
    if pair.person_a.id_number:
        expect(page.locator("table.dedup-pair")).not_to_contain_text(pair.person_a.id_number)
    page.get_by_label(re.compile("^Record B")).check()
    page.get_by_label("Reason (written to the audit log)").fill("同一人，户籍核对")
    page.get_by_role("button", name="Merge", exact=True).click()
    expect(page).to_have_url(re.compile(r"/duplicates/$"))
    expect(page.locator(".message.success")).to_contain_text("were merged into")
    assert Person.objects.get(pk=pair.person_a_id).merged_into_id == pair.person_b_id
    assert CandidatePair.objects.get(pk=pair.pk).status == PairStatus.MERGED
    expect(page.locator(f"a[href='/duplicates/{pair.pk}/']")).to_have_count(0)

    # Another pair: two different people, never shown again.
    page.locator("table.dedup-queue tbody tr").first.get_by_role("link", name="Review").click()
    other = int(page.url.rstrip("/").rsplit("/", 1)[1])
    page.get_by_role("button", name="Not the same person").click()
    expect(page.locator(".message.success")).to_contain_text("will not be shown again")
    expect(page.locator(f"a[href='/duplicates/{other}/']")).to_have_count(0)
    assert CandidatePair.objects.get(pk=other).status == PairStatus.DISTINCT
    assert len(register.truth) == 36

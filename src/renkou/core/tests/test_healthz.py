import pytest


@pytest.mark.django_db
def test_healthz_answers_with_the_database_status(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"]["status"] == "ok"
    assert body["database"]["vendor"] in {"sqlite", "postgresql"}


@pytest.mark.django_db
def test_healthz_needs_no_login_and_refuses_post(client):
    assert client.post("/healthz").status_code == 405


def test_a_nul_in_the_query_is_refused_before_any_query(client, db):
    r = client.get("/api/v1/datasets/mappings", {"system": "DHIS\x002"})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "invalid"
    assert client.get("/persons/", {"q": "王\x00"}).status_code == 400

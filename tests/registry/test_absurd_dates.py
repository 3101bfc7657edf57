"""Hostile (schemathesis found it): a registry or supervision date of year 29 or 9999 was a 500 (and a
year-269 opening date held the server past 30 s). Every date such a request carries is bounded like a
receipt time: a 422 with a Chinese message, nothing stored."""

from __future__ import annotations

import pytest

from tests.registry.test_registry import form, register, units  # noqa: F401

ABSURD = ["0029-01-09", "0269-12-29", "1999-12-31", "9999-12-31"]


@pytest.mark.usefixtures("units")
@pytest.mark.parametrize("day", ABSURD)
@pytest.mark.parametrize("field", ["opened_on", "registered_on"])
def test_registration_dates_are_bounded(client, admin_headers, field, day):
    resp = client.post("/api/v1/registry/accounts", json=form(**{field: day}), headers=admin_headers)
    assert resp.status_code == 422, resp.text
    assert "2000-01-01" in resp.json()["error"]["message"]
    assert client.get("/api/v1/registry/accounts", headers=admin_headers).json() == []


@pytest.mark.usefixtures("units")
@pytest.mark.parametrize("day", ABSURD)
@pytest.mark.parametrize("field", ["effective_on", "notice_on", "filed_on"])
def test_lifecycle_event_dates_are_bounded(client, admin_headers, field, day):
    registration = register(client, admin_headers)
    body = {"kind": "closed", "effective_on": "2025-03-20", field: day}
    resp = client.post(
        f"/api/v1/registry/accounts/{registration['id']}/events", json=body, headers=admin_headers
    )
    assert resp.status_code == 422, resp.text


@pytest.mark.usefixtures("units")
@pytest.mark.parametrize("day", ABSURD)
def test_post_report_and_decision_dates_are_bounded(day):
    from pydantic import ValidationError

    from app.registry.models import EventDecision, PostReport
    from app.supervision.models import FindingCreate

    with pytest.raises(ValidationError):
        EventDecision.model_validate({"decided_on": day})
    with pytest.raises(ValidationError):
        FindingCreate.model_validate({"finding": "答复敷衍", "due_on": day})
    with pytest.raises(ValidationError):
        PostReport.model_validate({"posted_at": f"{day}T10:00:00+08:00"})

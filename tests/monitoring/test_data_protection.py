"""Per-use-case redaction and retention: the endpoint, the service's checks, and what ingestion stores."""
import json
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from governance.models import AuditEvent
from governance.services.tokens import api_token_create
from monitoring.ingest.digest import text_digest
from monitoring.models import DataProtectionPolicy, TrafficRecord
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.usefixtures("postgres_only")

PII_PROMPT = ("I am Kari Nordmann, IBAN NO93 8601 1117 947, e-mail kari.nordmann@example.no, "
              "US SSN 536-22-1234. Why was I charged twice?")


@pytest.fixture
def person(make_user, grant, use_case):
    def client_for(role: str) -> APIClient:
        user = make_user()
        grant(user, use_case, role)
        client = APIClient()
        client.force_login(user)
        return client
    return client_for


@pytest.fixture
def serving(make_user, grant, use_case, system_actor) -> APIClient:
    ModelVersionFactory(use_case=use_case, label="v1")
    owner = make_user("serving-owner")
    grant(owner, use_case, "platform_owner")
    _, raw = api_token_create(actor=system_actor, owner_username=owner.username, name="serving",
                              scopes=["traffic:write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _url(use_case) -> str:
    return f"/api/v1/use-cases/{use_case.slug}/data-protection"


def _post(client, use_case, *records):
    response = client.post(f"/api/v1/use-cases/{use_case.slug}/traffic", data=json.dumps(list(records)),
                           content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def _record(external_id: str = "req-1", **overrides) -> dict:
    record = {"external_id": external_id, "timestamp": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
              "prompt": PII_PROMPT, "response": "Call us on +47 22 12 34 56.", "model_version": "v1"}
    record.update(overrides)
    return record


def test_defaults_redact_every_kind_and_keep_traffic_180_days(person, use_case):
    body = person("viewer").get(_url(use_case)).json()
    assert body["configured"] is False
    assert body["retention_days"] == 180
    assert set(body["redact_kinds"]) == {"email", "iban", "payment_card", "no_fodselsnummer", "se_personnummer",
                                         "us_ssn", "phone"}


def test_the_issue_s_prompt_is_stored_redacted_with_its_counts(serving, use_case):
    assert _post(serving, use_case, _record())["accepted"] == 1
    stored = TrafficRecord.objects.get(external_id="req-1")
    assert stored.prompt == ("I am Kari Nordmann, IBAN [IBAN], e-mail [EMAIL], US SSN [US_SSN]. "
                             "Why was I charged twice?")
    assert stored.response == "Call us on [PHONE]."
    assert stored.redactions == {"iban": 1, "email": 1, "us_ssn": 1, "phone": 1}
    # The digest (and so the embedding and every drift statistic) is of the redacted text.
    assert stored.prompt_digest == text_digest(stored.prompt)


def test_a_put_configures_kinds_patterns_and_retention_and_is_audited(person, serving, use_case):
    client = person("platform_owner")
    response = client.put(_url(use_case), {"redact_kinds": ["iban", "us_ssn"], "retention_days": 30,
                                           "custom_patterns": [{"name": "customer_no", "pattern": r"\bK-\d{6}\b"}]},
                          format="json")
    assert response.status_code == 200, response.content
    assert response.json()["configured"] is True
    event = AuditEvent.objects.get(action="data_protection.configured")
    assert event.before is None and event.after["retention_days"] == 30

    _post(serving, use_case, _record(prompt=PII_PROMPT + " Customer K-123456."))
    stored = TrafficRecord.objects.get(external_id="req-1")
    assert "kari.nordmann@example.no" in stored.prompt and "[CUSTOMER_NO]" in stored.prompt
    assert stored.redactions == {"iban": 1, "us_ssn": 1, "customer_no": 1}
    assert stored.response == "Call us on +47 22 12 34 56."


def test_a_partial_put_keeps_what_it_leaves_out(person, use_case):
    client = person("governance_owner")
    client.put(_url(use_case), {"retention_days": 90}, format="json")
    body = client.put(_url(use_case), {"redact_kinds": ["email"]}, format="json").json()
    assert (body["retention_days"], body["redact_kinds"]) == (90, ["email"])
    assert AuditEvent.objects.filter(action="data_protection.configured").count() == 2


@pytest.mark.parametrize(("body", "code"), [
    ({"redact_kinds": ["email", "passport"]}, "invalid_redaction_kind"),
    ({"redact_kinds": "email"}, "invalid_redaction_kind"),
    ({"custom_patterns": [{"name": "x", "pattern": "(unclosed"}]}, "invalid_redaction_pattern"),
    ({"custom_patterns": [{"name": "x", "pattern": ".*"}]}, "invalid_redaction_pattern"),
    ({"custom_patterns": [{"name": "X Y", "pattern": "a"}]}, "invalid_redaction_pattern"),
    ({"custom_patterns": [{"name": "a", "pattern": "a"}, {"name": "a", "pattern": "b"}]},
     "invalid_redaction_pattern"),
    ({"custom_patterns": "none"}, "invalid_redaction_pattern"),
    ({"retention_days": 0}, "invalid_retention"),
    ({"retention_days": 5000}, "invalid_retention"),
    ({"retention_days": "forever"}, "invalid_retention"),
])
def test_bad_rules_are_refused_with_a_code_and_nothing_is_saved(person, use_case, body, code):
    response = person("platform_owner").put(_url(use_case), body, format="json")
    assert (response.status_code, response.json()["code"]) == (400, code)
    assert not DataProtectionPolicy.objects.exists()
    assert not AuditEvent.objects.filter(action="data_protection.configured").exists()


def test_a_viewer_may_read_but_not_change_the_rules(person, use_case):
    client = person("viewer")
    response = client.put(_url(use_case), {"retention_days": 30}, format="json")
    assert (response.status_code, response.json()["code"]) == (403, "missing_role")


def test_records_older_than_the_retention_are_refused_per_row(person, serving, use_case):
    person("platform_owner").put(_url(use_case), {"retention_days": 7}, format="json")
    old = (datetime.now(UTC) - timedelta(days=8)).isoformat()
    result = _post(serving, use_case, _record("old", timestamp=old), _record("new"))
    assert (result["accepted"], result["rejected"]) == (1, 1)
    assert result["errors"][0] | {"message": ""} == {"index": 0, "external_id": "old", "code": "timestamp_expired",
                                                     "field": "timestamp", "message": ""}


@pytest.mark.parametrize("timestamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:30:00-05:00",
                                       "0001-01-01T00:00:00Z"])
def test_dates_with_no_storable_utc_time_are_refused_per_row_not_with_a_500(serving, use_case, timestamp):
    result = _post(serving, use_case, _record("odd", timestamp=timestamp), _record("fine"))
    assert result["accepted"] == 1
    assert result["errors"][0]["code"] in {"invalid_timestamp", "timestamp_expired", "timestamp_in_future"}
    assert list(TrafficRecord.objects.values_list("external_id", flat=True)) == ["fine"]


def test_an_offset_of_plus_19_hours_is_stored_as_the_same_instant_in_utc(serving, use_case):
    moment = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
    offset = moment.astimezone(datetime.strptime("+1900", "%z").tzinfo)
    assert _post(serving, use_case, _record(timestamp=offset.isoformat()))["accepted"] == 1
    stored = TrafficRecord.objects.get()
    assert stored.timestamp == moment and stored.hour == moment.replace(minute=0, second=0)


@pytest.mark.parametrize("metadata", [{"id": 2**53 + 1}, {"nested": [{"n": -(2**60)}]}, {"big": 10**30},
                                      {"float": 1.5e300}, {"float": -2.0**60}])
def test_metadata_numbers_beyond_2_to_the_53_are_refused_per_row(serving, use_case, metadata):
    result = _post(serving, use_case, _record("big", metadata=metadata))
    assert (result["rejected"], result["errors"][0]["code"]) == (1, "unsafe_number")


def test_metadata_numbers_within_2_to_the_53_and_long_digit_strings_round_trip(serving, use_case):
    metadata = {"id": 2**53, "negative": -(2**53), "as_text": "12345678901234567890", "small": 1.5e-300,
                "ratio": 0.1, "nested": [{"e": "1e999"}]}
    _post(serving, use_case, _record(metadata=metadata))
    assert TrafficRecord.objects.get().metadata == metadata

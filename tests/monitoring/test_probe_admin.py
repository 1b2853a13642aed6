"""The admin shows model probes read-only: pages render for staff, and nothing can be added or changed there."""
import pytest
from django.test import Client

from monitoring.models import GoldenSet, ProbeRun
from tests.factories import UserFactory
from tests.monitoring.probe_setup import ARITHMETIC_ITEMS, probed_use_case

pytestmark = pytest.mark.django_db


def test_probe_records_are_browsable_and_read_only(openai_stub):
    probed = probed_use_case(openai_stub, builtin_sets=[], own_items=ARITHMETIC_ITEMS[:2])
    run = probed.run(model="good")
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    for name in ("goldenset", "goldenitem", "modelendpoint", "probepolicy", "proberun", "proberesult"):
        assert client.get(f"/admin/monitoring/{name}/").status_code == 200, name
        assert client.get(f"/admin/monitoring/{name}/add/").status_code == 403, name
    response = client.post(f"/admin/monitoring/proberun/{run.pk}/change/", {"status": "failed"})
    assert response.status_code == 403 and ProbeRun.objects.get(pk=run.pk).status == "succeeded"
    assert client.get(f"/admin/monitoring/goldenset/{GoldenSet.objects.get(key='own').pk}/change/").status_code == 200

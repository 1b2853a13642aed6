"""`manage.py import_traffic`: a JSONL file in batches through the ingestion service."""
import gzip
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from monitoring.models import TrafficRecord
from tests.factories import ModelVersionFactory

pytestmark = pytest.mark.usefixtures("postgres_only")


@pytest.fixture
def version(use_case):
    return ModelVersionFactory(use_case=use_case, label="v1")


def _subprocess_env() -> dict:
    # The child process must see the test database (with the rows of this test committed), not the default one.
    env = dict(os.environ)
    env["DATABASE_URL"] = "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)
    return env


def _line(i: int, **overrides) -> str:
    stamp = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    record = {"external_id": f"e-{i}", "timestamp": stamp, "prompt": f"prompt {i}", "response": "r",
              "model_version": "v1"}
    record.update(overrides)
    return json.dumps(record)


def _run(path, use_case, *extra, rejected: int = 0) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    if rejected:
        # The summary is printed before the command fails, so a script sees both the rows and the status.
        with pytest.raises(CommandError, match=f"{rejected} rows were rejected") as failure:
            call_command("import_traffic", str(path), "--use-case", use_case.slug, *extra, stdout=out, stderr=err)
        assert failure.value.returncode == 1
    else:
        call_command("import_traffic", str(path), "--use-case", use_case.slug, *extra, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_a_file_is_imported_in_batches_with_a_summary(tmp_path, use_case, version):
    path = tmp_path / "traffic.jsonl"
    path.write_text("\n".join(_line(i) for i in range(25)) + "\n")
    out, _ = _run(path, use_case, "--batch-size", "10")
    assert TrafficRecord.objects.filter(use_case=use_case).count() == 25
    assert f"{use_case.slug}: 25 accepted, 0 duplicate, 0 rejected in 3 batches" in out


def test_the_progress_bar_goes_to_stderr(tmp_path, use_case, version, capsys):
    path = tmp_path / "traffic.jsonl"
    path.write_text("\n".join(_line(i) for i in range(3)))
    _run(path, use_case)
    captured = capsys.readouterr()
    assert f"{use_case.slug}: 100%" in captured.err
    assert captured.out == ""


def test_rejected_rows_are_reported_with_their_file_line(tmp_path, use_case, version):
    lines = [_line(0), "", _line(1, feedback=7), "{not json", _line(2, model_version="v9"), _line(3)]
    path = tmp_path / "traffic.jsonl"
    path.write_text("\n".join(lines))
    out, err = _run(path, use_case, "--batch-size", "2", "--json", "--no-progress", rejected=3)
    summary = json.loads(out)
    assert (summary["accepted"], summary["rejected"]) == (2, 3)
    assert [(e["line"], e["index"], e["code"]) for e in summary["errors"]] == [
        (3, 1, "invalid_feedback"), (4, 2, "malformed_json"), (5, 3, "unknown_model_version")]


def test_a_line_of_invalid_utf8_is_rejected_alone(tmp_path, use_case, version):
    path = tmp_path / "traffic.jsonl"
    path.write_bytes(_line(0).encode() + b"\n" + b'{"external_id": "\xff"}\n' + _line(1).encode() + b"\n")
    out, err = _run(path, use_case, "--no-progress", rejected=1)
    assert "2 accepted, 0 duplicate, 1 rejected" in out
    assert "line 2: invalid_utf8" in err


@override_settings(DRIFTGATE_TRAFFIC_MAX_BYTES=1024)
def test_batches_stay_under_the_byte_limit(tmp_path, use_case, version):
    path = tmp_path / "traffic.jsonl"
    lines = [_line(i, prompt="p" * 300) for i in range(10)]
    path.write_text("\n".join(lines))
    out, _ = _run(path, use_case, "--json", "--no-progress")
    summary = json.loads(out)
    per_batch = 1024 // (max(len(line) for line in lines) + 1)
    assert per_batch == 2
    assert (summary["accepted"], summary["batches"]) == (10, 5)


@override_settings(DRIFTGATE_TRAFFIC_MAX_BYTES=1024)
def test_a_line_longer_than_the_byte_limit_is_rejected_alone(tmp_path, use_case, version):
    path = tmp_path / "traffic.jsonl"
    path.write_text("\n".join([_line(0), _line(1, prompt="p" * 2000), _line(2)]))
    summary = json.loads(_run(path, use_case, "--json", "--no-progress", rejected=1)[0])
    assert (summary["accepted"], summary["rejected"], summary["errors"][0]["code"]) == (2, 1, "payload_too_large")


def test_a_second_import_of_the_same_file_adds_nothing(tmp_path, use_case, version):
    path = tmp_path / "traffic.jsonl.gz"
    with gzip.open(path, "wt") as file:
        file.write("\n".join(_line(i) for i in range(12)))
    _run(path, use_case, "--no-progress")
    out, _ = _run(path, use_case, "--no-progress")
    assert "0 accepted, 12 duplicate, 0 rejected" in out
    assert TrafficRecord.objects.count() == 12


def test_an_unknown_use_case_or_missing_file_stops_the_command(tmp_path, use_case, version):
    with pytest.raises(CommandError, match="No use case"):
        call_command("import_traffic", str(tmp_path / "x.jsonl"), "--use-case", "nope")
    with pytest.raises(CommandError, match="not a readable file"):
        call_command("import_traffic", str(tmp_path / "missing.jsonl"), "--use-case", use_case.slug)


@pytest.mark.django_db(transaction=True)
def test_it_exits_non_zero_when_every_row_was_rejected(tmp_path, use_case, version):
    path = tmp_path / "traffic.jsonl"
    path.write_text("\n".join(_line(i, model_version="v9") for i in range(4)))
    completed = subprocess.run(
        [sys.executable, "manage.py", "import_traffic", str(path), "--use-case", use_case.slug, "--no-progress"],
        capture_output=True, text=True, env=_subprocess_env(), cwd=settings.BASE_DIR, timeout=120)
    assert completed.returncode == 1
    assert "0 accepted, 0 duplicate, 4 rejected" in completed.stdout
    assert "4 rows were rejected" in completed.stderr


def test_model_version_is_the_default_for_records_without_one(tmp_path, use_case, version):
    ModelVersionFactory(use_case=use_case, label="v2", status="candidate")
    path = tmp_path / "traffic.jsonl"
    lines = [_line(0, model_version=None), _line(1, model_version="v2"), _line(2)]
    del_version = json.loads(_line(3))
    del del_version["model_version"]
    path.write_text("\n".join(lines + [json.dumps(del_version)]))
    _run(path, use_case, "--model-version", "v1", "--no-progress")
    stored = dict(TrafficRecord.objects.values_list("external_id", "model_version__label"))
    assert stored == {"e-0": "v1", "e-1": "v2", "e-2": "v1", "e-3": "v1"}


def test_without_model_version_a_record_lacking_one_is_rejected(tmp_path, use_case, version):
    path = tmp_path / "traffic.jsonl"
    record = json.loads(_line(0))
    del record["model_version"]
    path.write_text(json.dumps(record))
    summary = json.loads(_run(path, use_case, "--json", "--no-progress", rejected=1)[0])
    assert summary["errors"][0]["code"] == "missing_field"


def test_an_unregistered_default_model_version_stops_before_importing(tmp_path, use_case, version):
    path = tmp_path / "traffic.jsonl"
    path.write_text(_line(0))
    with pytest.raises(CommandError, match="not registered"):
        _run(path, use_case, "--model-version", "v7")
    assert not TrafficRecord.objects.exists()

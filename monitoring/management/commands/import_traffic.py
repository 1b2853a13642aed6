"""`manage.py import_traffic FILE --use-case SLUG`: load a JSONL file of traffic through the ingestion service.

Batches of at most DRIFTGATE_TRAFFIC_MAX_RECORDS lines and DRIFTGATE_TRAFFIC_MAX_BYTES bytes go through
`traffic_ingest`, the same path as the API, and commit one by one. Ingestion is idempotent on external_id,
so an interrupted import is resumed by running it again. The exit status is 0 only when every row was stored
or was already there: a script that loads a file must not mistake rejected rows for success.
"""
import gzip
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, cast

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from driftgate.actors import Actor
from driftgate.errors import ApplicationError
from governance.models import UseCase
from monitoring.ingest.parsing import MEDIA_NDJSON
from monitoring.services.traffic import traffic_ingest


def _open(path: str) -> tuple[BinaryIO, int | None]:
    if path == "-":
        return sys.stdin.buffer, None
    file = Path(path)
    if not file.is_file():
        raise CommandError(f"{path} is not a readable file.")
    size = file.stat().st_size
    if file.suffix == ".gz":
        return cast(BinaryIO, gzip.open(file, "rb")), None
    return file.open("rb"), size


class _Batcher:
    """Groups the file's lines into request-sized batches and turns lines that cannot be sent into row errors."""

    def __init__(self, *, max_records: int, max_bytes: int) -> None:
        self.max_records = max_records
        self.max_bytes = max_bytes
        self.local_errors: list[dict] = []
        self.records = 0

    def batches(self, stream: BinaryIO, progress: tqdm) -> Iterator[tuple[list[bytes], list[int], int]]:
        """Yield (lines, their file line numbers, index of the first record)."""
        lines: list[bytes] = []
        numbers: list[int] = []
        size = 0
        first_index = 0
        for number, line in enumerate(stream, start=1):
            progress.update(len(line))
            line = line.rstrip(b"\r\n")
            if not line.strip():
                continue
            index = self.records
            self.records += 1
            problem = self._problem(line)
            if problem:
                self.local_errors.append({"index": index, "line": number, "external_id": None, **problem})
                continue
            if lines and (len(lines) >= self.max_records or size + len(line) + 1 > self.max_bytes):
                yield lines, numbers, first_index
                lines, numbers, size = [], [], 0
            if not lines:
                first_index = index
            lines.append(line)
            numbers.append(number)
            size += len(line) + 1
        if lines:
            yield lines, numbers, first_index

    def _problem(self, line: bytes) -> dict | None:
        # The service refuses a whole request for bad UTF-8 or size; in a file that is one line's fault.
        if len(line) > self.max_bytes:
            return {"code": "payload_too_large", "message": f"The line exceeds {self.max_bytes} bytes."}
        try:
            line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return {"code": "invalid_utf8", "message": f"The line is not valid UTF-8 (byte {exc.start})."}
        return None


class Command(BaseCommand):
    help = "Import a JSONL (NDJSON) file of traffic records into a use case, in batches, with a progress bar."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="JSONL file, one record per line ('-' for stdin; .gz is decompressed).")
        parser.add_argument("--use-case", required=True, help="Slug of the use case.")
        parser.add_argument("--batch-size", type=int, default=settings.DRIFTGATE_TRAFFIC_MAX_RECORDS,
                            help="Records per batch (at most DRIFTGATE_TRAFFIC_MAX_RECORDS).")
        parser.add_argument("--model-version", default=None,
                            help="Label of a registered model version for records that name none.")
        parser.add_argument("--show-errors", type=int, default=20, help="How many rejected rows to list.")
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, **options) -> None:
        use_case = UseCase.objects.filter(slug=options["use_case"]).first()
        if use_case is None:
            raise CommandError(f"No use case {options['use_case']!r}.")
        default_version = options["model_version"]
        if default_version is not None and not use_case.model_versions.filter(label=default_version).exists():
            raise CommandError(f"Model version {default_version!r} is not registered for {use_case.slug}.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        batcher = _Batcher(max_records=min(options["batch_size"], settings.DRIFTGATE_TRAFFIC_MAX_RECORDS),
                           max_bytes=settings.DRIFTGATE_TRAFFIC_MAX_BYTES)
        actor = Actor.system("import_traffic")
        totals = {"accepted": 0, "duplicate": 0, "rejected": 0, "batches": 0}
        errors: list[dict] = []
        started = time.perf_counter()
        stream, size = _open(options["file"])
        progress = tqdm(total=size, unit="B", unit_scale=True, desc=use_case.slug, file=sys.stderr,
                        disable=options["no_progress"])
        try:
            for lines, numbers, first_index in batcher.batches(stream, progress):
                try:
                    result = traffic_ingest(actor=actor, use_case=use_case, body=b"\n".join(lines),
                                            content_type=MEDIA_NDJSON, default_model_version=default_version)
                except ApplicationError as exc:
                    raise CommandError(f"Batch starting at line {numbers[0]} was refused ({exc.code}): {exc.message} "
                                       f"Earlier batches are stored; rerunning the import is safe.") from exc
                totals["batches"] += 1
                for key in ("accepted", "duplicate", "rejected"):
                    totals[key] += getattr(result, key)
                for error in result.errors:
                    errors.append(error | {"index": first_index + error["index"], "line": numbers[error["line"] - 1]})
                progress.set_postfix(accepted=totals["accepted"], rejected=totals["rejected"])
        finally:
            progress.close()
            if stream is not sys.stdin.buffer:
                stream.close()
        totals["rejected"] += len(batcher.local_errors)
        errors = sorted(errors + batcher.local_errors, key=lambda error: error["index"])
        self._report(use_case, totals, errors, time.perf_counter() - started, options)
        if totals["rejected"]:
            raise CommandError(f"{totals['rejected']} rows were rejected; the other rows are stored.", returncode=1)

    def _report(self, use_case: UseCase, totals: dict, errors: list[dict], seconds: float, options: dict) -> None:
        shown = errors[: max(options["show_errors"], 0)]
        if options["json"]:
            self.stdout.write(json.dumps({"use_case": use_case.slug, **totals, "seconds": round(seconds, 3),
                                          "errors": shown, "errors_truncated": len(errors) < totals["rejected"]
                                          or len(shown) < len(errors)}))
            return
        rate = (totals["accepted"] + totals["duplicate"]) / seconds if seconds > 0 else 0.0
        self.stdout.write(f"{use_case.slug}: {totals['accepted']} accepted, {totals['duplicate']} duplicate, "
                          f"{totals['rejected']} rejected in {totals['batches']} batches, {seconds:.1f} s "
                          f"({rate:,.0f} records/s).")
        for error in shown:
            self.stderr.write(f"line {error['line']}: {error['code']}: {error['message']}")
        if totals["rejected"] > len(shown):
            self.stderr.write(f"... {totals['rejected'] - len(shown)} more rejected rows not listed.")

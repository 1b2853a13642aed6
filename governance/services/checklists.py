"""Working through a gate's checklists: item status, ML Test Score credit, and hashed evidence."""
import hashlib
import logging
import os
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files import File
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.errors import ApplicationError, Conflict, NotFound, PayloadTooLarge, ValidationFailed
from driftgate.storage import read_verified
from governance.audit import audit_record
from governance.models import Automation, ChecklistItem, Evidence, ItemStatus, Role
from governance.permissions import require_role
from governance.rules import field_limit
from governance.services.gates import lock_gate

logger = logging.getLogger(__name__)
_REASON_STATUSES = (ItemStatus.WAIVED, ItemStatus.NOT_APPLICABLE)
_URL_VALIDATOR = URLValidator(schemes=["http", "https"])


def _item_view(item: ChecklistItem) -> dict:
    return {"checklist": item.checklist.template.key, "key": item.key, "status": item.status, "reason": item.reason,
            "automation": item.automation}


def _evidence_view(evidence: Evidence) -> dict:
    return {"item": evidence.item_id, "name": evidence.name, "sha256": evidence.sha256, "size": evidence.size,
            "url": evidence.url, "file": evidence.file.name if evidence.file else "", "removed_at": evidence.removed_at}


def _lock_item(item_id: int) -> ChecklistItem:
    """Take the use case and gate locks (fixed order), then lock and return the item."""
    gate_id = ChecklistItem.objects.values_list("checklist__gate_id", flat=True).get(pk=item_id)
    gate = lock_gate(gate_id)
    item = ChecklistItem.objects.select_for_update(of=("self",)).select_related("checklist__template").get(pk=item_id)
    item.checklist.gate = gate
    return item


def _require_item_editor(actor: Actor, item: ChecklistItem, action: str) -> None:
    """The item's owner role or the product owner may change an item and its evidence."""
    require_role(actor=actor, use_case=item.checklist.gate.use_case, roles={item.owner_role, Role.PRODUCT_OWNER},
                 action=action)


def checklist_item_update(*, actor: Actor, item: ChecklistItem, status: str, reason: str = "",
                          automation: str | None = None) -> ChecklistItem:
    """Set an item's status (and ML Test Score automation); done needs evidence, waived / not applicable a reason."""
    if status not in ItemStatus.values:
        raise ValidationFailed(f"Unknown status {status!r}.", code="invalid_status",
                               extra={"valid": ItemStatus.values})
    if automation is not None and automation not in Automation.values:
        raise ValidationFailed(f"Unknown automation {automation!r}.", code="invalid_automation",
                               extra={"valid": Automation.values})
    reason = (reason or "").strip()
    if status in _REASON_STATUSES and not reason:
        raise ValidationFailed(f"A {status.replace('_', ' ')} item needs a reason.", code="reason_required")
    with transaction.atomic():
        item = _lock_item(item.pk)
        _require_item_editor(actor, item, "change this checklist item")
        if status == ItemStatus.DONE and item.required and not item.evidence.filter(removed_at__isnull=True).exists():
            raise ValidationFailed("A required item can only be done with at least one piece of evidence.",
                                   code="evidence_required", extra={"item": item.pk})
        before = _item_view(item)
        item.status = status
        item.reason = reason
        if automation is not None:
            item.automation = automation
        if _item_view(item) == before:
            return item
        done = status == ItemStatus.DONE
        item.completed_by = actor.user if done else None
        item.completed_at = timezone.now() if done else None
        item.save(update_fields=["status", "reason", "automation", "completed_by", "completed_at", "updated_at"])
        audit_record(actor=actor, action="checklist_item.updated", obj=item, use_case=item.checklist.gate.use_case,
                     before=before, after=_item_view(item), reason=reason)
    return item


def _hash_upload(file: File) -> tuple[str, int]:
    """Stream the file once to hash it, refusing it as soon as it passes the size limit."""
    limit = settings.DRIFTGATE_EVIDENCE_MAX_BYTES
    too_large = PayloadTooLarge(f"Evidence files are limited to {limit} bytes.", code="evidence_too_large",
                                extra={"max_bytes": limit})
    if (getattr(file, "size", None) or 0) > limit:
        raise too_large
    digest, size = hashlib.sha256(), 0
    file.seek(0)
    for chunk in file.chunks():
        size += len(chunk)
        if size > limit:
            raise too_large
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest(), size


def evidence_add(*, actor: Actor, item: ChecklistItem, name: str = "", file: File | None = None,
                 url: str | None = None) -> Evidence:
    """Attach a file (stored under its SHA-256) or a URL (hashed as its UTF-8 string) to a checklist item."""
    url = (url or "").strip()
    if (file is None) == (not url):
        raise ValidationFailed("Evidence is either a file or a URL: give exactly one.", code="evidence_source_required")
    name = (name or "").strip() or (os.path.basename(file.name or "") if file is not None else url)
    if not name:
        raise ValidationFailed("Evidence needs a name.", code="name_required")
    if len(name) > field_limit(Evidence, "name"):
        raise ValidationFailed("The evidence name is too long.", code="name_too_long")
    if url:
        try:
            _URL_VALIDATOR(url)
        except DjangoValidationError as exc:
            raise ValidationFailed("Evidence URLs must be valid http or https URLs.", code="invalid_url",
                                   extra={"url": url}) from exc
        if len(url) > field_limit(Evidence, "url"):
            raise ValidationFailed("The evidence URL is too long.", code="invalid_url", extra={"url": url[:100]})
        sha256, size = hashlib.sha256(url.encode("utf-8")).hexdigest(), 0
    else:
        # Refuse someone without the role before reading a large upload; re-checked under the lock below.
        _require_item_editor(actor, ChecklistItem.objects.select_related("checklist__gate__use_case").get(pk=item.pk),
                             "add evidence")
        assert file is not None  # exactly one of file and URL, refused above otherwise
        sha256, size = _hash_upload(file)
    stored_name = ""
    try:
        with transaction.atomic():
            item = _lock_item(item.pk)
            _require_item_editor(actor, item, "add evidence")
            evidence = Evidence(item=item, name=name, url=url, sha256=sha256, size=size, uploaded_by=actor.user,
                                content_type=(getattr(file, "content_type", "") or "")[:100] if file else "")
            if file is not None:
                evidence.file.save(os.path.basename(file.name or name), file, save=False)
                stored_name = evidence.file.name or ""
            evidence.save()
            audit_record(actor=actor, action="evidence.added", obj=evidence, use_case=item.checklist.gate.use_case,
                         after=_evidence_view(evidence))
    except Exception:
        # The row rolled back: take the stored file with it so nothing half-written stays behind.
        if stored_name:
            evidence.file.storage.delete(stored_name)
        raise
    return evidence


def evidence_remove(*, actor: Actor, evidence: Evidence, reason: str = "") -> Evidence:
    """Mark evidence removed; the row and file stay so the trail shows what was once attached."""
    with transaction.atomic():
        item = _lock_item(evidence.item_id)
        _require_item_editor(actor, item, "remove evidence")
        evidence = Evidence.objects.select_for_update().get(pk=evidence.pk)
        if evidence.removed_at is not None:
            raise Conflict("This evidence is already removed.", code="evidence_already_removed",
                           extra={"removed_at": evidence.removed_at.isoformat()})
        before = _evidence_view(evidence)
        evidence.removed_at = timezone.now()
        evidence.save(update_fields=["removed_at"])
        audit_record(actor=actor, action="evidence.removed", obj=evidence, use_case=item.checklist.gate.use_case,
                     before=before, after=_evidence_view(evidence), reason=reason.strip())
    return evidence


def evidence_file_read(*, actor: Actor, evidence: Evidence) -> tuple[IO[bytes], str]:
    """Return an evidence file's bytes, checked against the SHA-256 recorded at upload, and its file name.

    The caller got `evidence` from `evidence_get`, which decides who may see it; a file whose bytes changed in
    storage (a rewritten object in a shared bucket) is refused, never handed out as the evidence that was signed.
    """
    name = evidence.file.name if evidence.file else ""
    if not name:
        raise Conflict("This evidence is a URL, not a file.", code="evidence_is_url", extra={"url": evidence.url})
    try:
        content, intact = read_verified(evidence.file.storage, name, sha256=evidence.sha256)
    except FileNotFoundError as exc:
        logger.error("evidence %s: file %s is missing", evidence.pk, name)
        raise NotFound("The evidence file is missing from storage.", code="evidence_file_missing",
                       extra={"id": evidence.pk}) from exc
    if not intact:
        content.close()
        logger.error("evidence %s: file %s does not match its SHA-256 (read by %s)", evidence.pk, name,
                     actor.display)
        raise ApplicationError("The evidence file does not match the SHA-256 recorded at upload.",
                               code="evidence_integrity_failed", status_code=500,
                               extra={"id": evidence.pk, "sha256": evidence.sha256})
    return content, os.path.basename(name)

"""Walking the whole chain and listing every break: bad bytes, bad keys, gaps, reorderings, forks, lost tails.

One pass in sequence order checks each event on its own (bytes, hash, MAC, columns) and against its predecessor
(link, sequence), and grows the Merkle tree so every checkpoint's signed root is compared at its tree size. A
break never stops the walk: the next event is linked against the hash the broken one stores, so one edited event
is reported once and cannot hide what comes after it.
"""
import hmac
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from governance.auditlog.anchors import recorded_anchors
from governance.auditlog.format import FORMAT_VERSION, GENESIS_HASH, event_hash, isoformat_utc, legacy_hash, storable
from governance.auditlog.keys import HmacKeyring, hmac_keyring, signing_keys
from governance.auditlog.merkle import CompactRange, leaf_hash
from governance.auditlog.sinks import SINK_READ_ERRORS, configured_sinks
from governance.auditlog.statements import Checkpoint, CheckpointFormatError, parse_body
from governance.models import AuditCheckpoint, AuditEvent

# Stable break kinds: the API, the page and `audit_verify --json` name them; tests assert them.
SEQUENCE_GAP = "sequence_gap"
FORK = "fork"
REORDERED = "reordered"
LINK_BROKEN = "link_broken"
HASH_MISMATCH = "hash_mismatch"
COLUMNS_MISMATCH = "columns_mismatch"
MAC_INVALID = "mac_invalid"
UNKNOWN_KEY = "unknown_key"
UNKEYED_EVENT = "unkeyed_event"
TRUNCATED = "truncated"
CHECKPOINT_ROOT_MISMATCH = "checkpoint_root_mismatch"
CHECKPOINT_SIGNATURE_INVALID = "checkpoint_signature_invalid"
CHECKPOINT_CONFLICT = "checkpoint_conflict"
CHECKPOINT_UNREADABLE = "checkpoint_unreadable"
ANCHOR_MISSING = "anchor_missing"

_TEXT_COLUMNS = ("actor_kind", "actor_display", "action", "object_type", "object_id", "reason", "request_id", "key_id")
_ID_COLUMNS = ("actor_user", "actor_token", "use_case")
_COLUMNS = ("id", "sequence", "created_at", "actor_kind", "actor_user_id", "actor_token_id", "actor_display",
            "action", "object_type", "object_id", "use_case_id", "before_text", "after_text", "reason", "request_id",
            "prev_hash", "hash", "canonical", "mac", "key_id")


@dataclass
class Break:
    """One finding: a kind, the events it concerns (a range when consecutive events share it) and why."""

    kind: str
    first_sequence: int | None
    last_sequence: int | None
    detail: str
    count: int = 1

    def as_dict(self) -> dict:
        """Return a JSON-able view."""
        return {"kind": self.kind, "first_sequence": self.first_sequence, "last_sequence": self.last_sequence,
                "count": self.count, "detail": self.detail}


@dataclass
class CheckpointSource:
    """A checkpoint as found in one place: the database or an external sink."""

    origin: str
    name: str
    checkpoint: Checkpoint | None
    error: str = ""


@dataclass
class ChainVerification:
    """The outcome of walking the chain: every break, what was checked, and the anchor it was checked against."""

    ok: bool
    count: int
    head_hash: str
    head_sequence: int = 0
    breaks: list[Break] = field(default_factory=list)
    keyed_events: int = 0
    legacy_events: int = 0
    checkpoints_checked: int = 0
    external_checkpoint: dict | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def first_bad_sequence(self) -> int | None:
        """Return the lowest event sequence named by a break (None when intact)."""
        sequences = [b.first_sequence for b in self.breaks if b.first_sequence is not None]
        return min(sequences) if sequences else None

    @property
    def problem(self) -> str:
        """Return the first break in words ("" when intact)."""
        if not self.breaks:
            return ""
        first = min(self.breaks, key=lambda b: (b.first_sequence is None, b.first_sequence or 0))
        return f"{first.kind}: {first.detail}"

    def as_dict(self) -> dict:
        """Return a JSON-able view for the API, the page, `audit_verify --json` and reports."""
        return {"ok": self.ok, "intact": self.ok, "count": self.count, "head_hash": self.head_hash,
                "head_sequence": self.head_sequence, "first_bad_sequence": self.first_bad_sequence,
                "problem": self.problem, "breaks": [b.as_dict() for b in self.breaks],
                "checked": {"events": self.count, "keyed_events": self.keyed_events,
                            "legacy_events": self.legacy_events, "checkpoints": self.checkpoints_checked},
                "external_checkpoint": self.external_checkpoint, "notes": list(self.notes)}


class _Findings:
    """Collects breaks, merging consecutive events of the same kind into one range."""

    def __init__(self) -> None:
        self.breaks: list[Break] = []
        self._open: dict[str, Break] = {}

    def add(self, kind: str, sequence: int | None, detail: str) -> None:
        current = self._open.get(kind)
        if current is not None and sequence is not None and current.last_sequence is not None \
                and sequence == current.last_sequence + 1:
            current.last_sequence = sequence
            current.count += 1
            return
        found = Break(kind=kind, first_sequence=sequence, last_sequence=sequence, detail=detail)
        self.breaks.append(found)
        if sequence is not None:
            self._open[kind] = found


def json_equal(a: Any, b: Any) -> bool:
    """Return whether two decoded JSON values are the same value, numbers compared as exact decimals.

    jsonb keeps a number's decimal value but not its spelling: the float 1e16 reads back as the integer
    10000000000000000 and 1e308 as a 309-digit integer, which Python's float/int equality does not always match.
    """
    if a == b and type(a) is type(b):
        if not isinstance(a, (dict, list)):
            return True
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return Decimal(repr(a)) == Decimal(repr(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[key], b[key]) for key in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return a == b and type(a) is type(b)


def _same(value: Any) -> Any:
    return value


def legacy_fields(sequence, created_at, actor_kind, actor_user, actor_token, actor_display, action, object_type,
                  object_id, use_case, before, after, reason, request_id) -> dict:
    """Return the fields the first, unkeyed format hashed, from the columns."""
    return {"sequence": sequence, "created_at": isoformat_utc(created_at), "actor_kind": actor_kind,
            "actor_user": actor_user, "actor_token": actor_token, "actor_display": actor_display, "action": action,
            "object_type": object_type, "object_id": object_id, "use_case": use_case, "before": before,
            "after": after, "reason": reason, "request_id": request_id}


def columns_differing(parsed: dict, row: dict) -> list[str]:
    """Return the names of the structured columns that do not say what the canonical bytes say."""
    # Only a NUL (escaped as \u0000 in the ASCII bytes) is stored differently; most events have none.
    column_view = storable if "\\u0000" in row["canonical"] else _same
    differing = []
    if parsed.get("sequence") != row["sequence"]:
        differing.append("sequence")
    if parsed.get("created_at") != isoformat_utc(row["created_at"]):
        differing.append("created_at")
    for name in _TEXT_COLUMNS:
        if column_view(parsed.get(name)) != row[name]:
            differing.append(name)
    for name in _ID_COLUMNS:
        if parsed.get(name) != row[f"{name}_id"]:
            differing.append(name)
    for name in ("before", "after"):
        text = row[f"{name}_text"]
        stored = None if text is None else json.loads(text)
        if not json_equal(column_view(parsed.get(name)), stored):
            differing.append(name)
    return differing


def event_findings(row: dict, keyring: HmacKeyring) -> list[tuple[str, str]]:
    """Return what is wrong with one event on its own (its bytes, hash, MAC and columns), as (kind, detail)."""
    found: list[tuple[str, str]] = []
    canonical = row["canonical"]
    if not canonical:
        fields = legacy_fields(row["sequence"], row["created_at"], row["actor_kind"], row["actor_user_id"],
                               row["actor_token_id"], row["actor_display"], row["action"], row["object_type"],
                               row["object_id"], row["use_case_id"],
                               None if row["before_text"] is None else json.loads(row["before_text"]),
                               None if row["after_text"] is None else json.loads(row["after_text"]),
                               row["reason"], row["request_id"])
        if legacy_hash(fields, row["prev_hash"]) != row["hash"]:
            found.append((HASH_MISMATCH, "the stored hash does not match the event's fields (unkeyed format)"))
        return found
    try:
        digest = event_hash(canonical, row["prev_hash"])
        parsed = json.loads(canonical)
    except (UnicodeEncodeError, ValueError):
        return [(HASH_MISMATCH, "the stored canonical bytes are not ASCII JSON")]
    if digest != row["hash"]:
        found.append((HASH_MISMATCH, "the stored hash does not match sha256(canonical bytes + prev_hash)"))
    if not isinstance(parsed, dict) or parsed.get("v") != FORMAT_VERSION:
        return found + [(HASH_MISMATCH, "the canonical bytes are not an event of this format")]
    key = keyring.keys.get(row["key_id"])
    if key is None:
        found.append((UNKNOWN_KEY, f"keyed with {row['key_id']!r}, which is not a configured HMAC key"))
    elif not row["mac"] or not hmac.compare_digest(keyring.mac(row["key_id"], row["hash"]), row["mac"]):
        found.append((MAC_INVALID, f"the MAC does not verify under key {row['key_id']}"))
    if parsed.get("sequence") != row["sequence"]:
        found.append((REORDERED, f"the bytes say event #{parsed.get('sequence')}, stored as #{row['sequence']}"))
    differing = [name for name in columns_differing(parsed, row) if name != "sequence"]
    if differing:
        found.append((COLUMNS_MISMATCH, "columns differ from the hashed bytes: " + ", ".join(differing)))
    return found


def _rows(batch_size: int, using: str):
    queryset = (AuditEvent.objects.using(using).order_by("sequence", "id")
                .annotate(before_text=Cast("before", TextField()), after_text=Cast("after", TextField()))
                .values_list(*_COLUMNS))
    for values in queryset.iterator(chunk_size=batch_size):
        yield dict(zip(_COLUMNS, values, strict=True))


def walk_chain(*, checkpoints: list[CheckpointSource], keyring: HmacKeyring | None = None,
               trusted_keys: dict | None = None, batch_size: int = 5000, using: str = "default") -> ChainVerification:
    """Walk every event in order and compare the Merkle root at each checkpoint's size with its signed root."""
    keyring = keyring or hmac_keyring()
    legacy_limit = settings.DRIFTGATE_AUDIT_LEGACY_EVENTS
    findings = _Findings()
    by_size: dict[int, list[CheckpointSource]] = {}
    checked = 0
    for source in checkpoints:
        if source.checkpoint is None:
            findings.add(CHECKPOINT_UNREADABLE, None, f"{source.origin} {source.name}: {source.error or 'unreadable'}")
            continue
        if trusted_keys is not None:
            problem = source.checkpoint.verify(trusted_keys)
            if problem:
                findings.add(CHECKPOINT_SIGNATURE_INVALID, None,
                             f"{source.origin} checkpoint {source.name} (tree size {source.checkpoint.tree_size}): "
                             f"{problem}")
                continue
        by_size.setdefault(source.checkpoint.tree_size, []).append(source)
    for size, sources in by_size.items():
        # by_size holds only sources whose checkpoint was read (the unreadable ones were reported above).
        if len({source.checkpoint.body for source in sources if source.checkpoint}) > 1:
            findings.add(CHECKPOINT_CONFLICT, None, f"two different signed checkpoints of tree size {size}: "
                         + ", ".join(f"{s.origin} {s.name} root {s.checkpoint.root[:16]}" for s in sources if s.checkpoint))

    compact = CompactRange()
    expected_prev = GENESIS_HASH
    expected_sequence = 1
    previous_sequence = 0
    keyed = legacy = 0
    broken_links: list[tuple[int, str]] = []
    after_gap = False
    with transaction.atomic(using=using):
        # One server-side cursor is one query and so one snapshot: events appended during the walk are not in it.
        for row in _rows(batch_size, using):
            sequence = row["sequence"]
            if sequence == previous_sequence:
                # A second event under a number already walked: report it (and what else is wrong with it), but
                # keep linking and hashing the first, so the branch does not make every later event look broken.
                findings.add(FORK, sequence, f"more than one event is stored as #{sequence}")
                for kind, detail in event_findings(row, keyring):
                    findings.add(kind, sequence, detail)
                continue
            if sequence != expected_sequence:
                missing = (expected_sequence, sequence - 1)
                findings.breaks.append(Break(kind=SEQUENCE_GAP, first_sequence=missing[0], last_sequence=missing[1],
                                             count=missing[1] - missing[0] + 1,
                                             detail=f"events #{missing[0]}–#{missing[1]} are missing"
                                             if missing[1] >= missing[0] else f"#{sequence} comes out of order"))
                after_gap = True
            if row["canonical"]:
                keyed += 1
            else:
                legacy += 1
                if sequence > legacy_limit:
                    findings.add(UNKEYED_EVENT, sequence, "an event without canonical bytes or MAC, past the "
                                 f"{legacy_limit} written before events were keyed (DRIFTGATE_AUDIT_LEGACY_EVENTS)")
            for kind, detail in event_findings(row, keyring):
                findings.add(kind, sequence, detail)
            if row["prev_hash"] != expected_prev and not after_gap:
                broken_links.append((sequence, row["prev_hash"]))
            after_gap = False
            expected_prev = row["hash"]
            expected_sequence = max(expected_sequence, sequence + 1)
            previous_sequence = sequence
            try:
                compact.append_leaf_hash(leaf_hash(bytes.fromhex(row["hash"])))
            except ValueError:
                compact.append_leaf_hash(leaf_hash(row["hash"].encode("utf-8", "replace")))
            for source in by_size.get(compact.size, ()):
                checked += 1
                if source.checkpoint and compact.root().hex() != source.checkpoint.root:
                    findings.add(CHECKPOINT_ROOT_MISMATCH, None,
                                 f"the first {compact.size} events do not hash to the root signed in {source.origin} "
                                 f"checkpoint {source.name}: history was rewritten")
        _classify_links(broken_links, findings, using)

    largest = max(by_size, default=0)
    if largest > compact.size:
        checked += sum(len(sources) for size, sources in by_size.items() if size > compact.size)
        findings.breaks.append(Break(kind=TRUNCATED, first_sequence=compact.size + 1, last_sequence=largest,
                                     count=largest - compact.size,
                                     detail=f"a signed checkpoint covers {largest} events but only {compact.size} "
                                     f"are stored: #{compact.size + 1}–#{largest} are gone"))
    findings.breaks.sort(key=lambda b: (b.first_sequence is None, b.first_sequence or 0))
    return ChainVerification(ok=not findings.breaks, count=compact.size, head_hash=expected_prev,
                             head_sequence=previous_sequence, breaks=findings.breaks, keyed_events=keyed,
                             legacy_events=legacy, checkpoints_checked=checked)


def _classify_links(broken_links: list[tuple[int, str]], findings: _Findings, using: str) -> None:
    """Name each broken link: a fork (a predecessor claimed twice), a reordering, or a link to nothing stored."""
    for start in range(0, len(broken_links), 1000):
        batch = broken_links[start:start + 1000]
        claims = {prev for _, prev in batch}
        owners = dict(AuditEvent.objects.using(using).filter(hash__in=claims).values_list("hash", "sequence"))
        claimed: dict[str, int] = {}
        claimants = AuditEvent.objects.using(using).filter(prev_hash__in=claims).values_list("prev_hash", flat=True)
        for prev_hash in claimants:
            claimed[prev_hash] = claimed.get(prev_hash, 0) + 1
        for sequence, prev_hash in batch:
            owner = owners.get(prev_hash)
            if claimed.get(prev_hash, 0) > 1:
                findings.add(FORK, sequence, f"event #{sequence} claims a predecessor another event also claims")
            elif owner is not None:
                findings.add(REORDERED, sequence, f"event #{sequence} links to #{owner}, not to the event stored "
                                                  "before it")
            else:
                findings.add(LINK_BROKEN, sequence, f"event #{sequence} links to a hash no stored event has")


def audit_verify_chain(*, batch_size: int = 5000) -> ChainVerification:
    """Walk the whole chain against every stored checkpoint and the latest one in each external sink."""
    sources = [CheckpointSource(origin="database", name=str(row.tree_size), checkpoint=_parsed(row))
               for row in AuditCheckpoint.objects.order_by("tree_size")]
    external = [found for sink in configured_sinks() for found in [_latest(sink)] if found is not None]
    notes = []
    if not configured_sinks():
        notes.append("No external checkpoint sink is configured: a truncated tail or a rewritten history with "
                     "re-signed checkpoints cannot be detected.")
    elif not external:
        notes.append("No checkpoint in the external sinks yet: run `manage.py audit_checkpoint`.")
    result = walk_chain(checkpoints=sources + [CheckpointSource(origin=f"sink {sink_name}", name=name,
                                                                checkpoint=checkpoint, error=error)
                                               for sink_name, name, checkpoint, error in external],
                        trusted_keys=signing_keys().trusted, batch_size=batch_size)
    for label, head in _missing_anchors(batch_size):
        result.breaks.append(Break(kind=ANCHOR_MISSING, first_sequence=None, last_sequence=None,
                                   detail=f"{label} names chain head {head}, which no stored event has"))
    result.ok = not result.breaks
    latest = max((c for _, _, c, _ in external if c is not None), key=lambda c: c.tree_size, default=None)
    result.external_checkpoint = None if latest is None else {
        "tree_size": latest.tree_size, "root": latest.root, "timestamp": latest.timestamp, "key_id": latest.key_id}
    result.notes.extend(notes)
    return result


def _missing_anchors(batch_size: int) -> list[tuple[str, str]]:
    """Return the recorded chain heads (reports' and others') that are neither genesis nor a stored event's hash."""
    missing: list[tuple[str, str]] = []
    anchors = [(label, head) for label, head in recorded_anchors() if head and head != GENESIS_HASH]
    for start in range(0, len(anchors), batch_size):
        batch = anchors[start:start + batch_size]
        known = set(AuditEvent.objects.filter(hash__in={head for _, head in batch}).values_list("hash", flat=True))
        missing.extend((label, head) for label, head in batch if head not in known)
    return missing


def _latest(sink) -> tuple[str, str, Checkpoint | None, str] | None:
    """Return the sink's latest checkpoint; a sink that cannot be read is a finding, not a crash of the walk."""
    try:
        return sink.latest()
    except SINK_READ_ERRORS as error:
        return sink.label, "(latest)", None, f"the sink cannot be read: {error}"


def _parsed(row: AuditCheckpoint) -> Checkpoint | None:
    try:
        return parse_body(row.body, row.signature)
    except CheckpointFormatError:
        return None

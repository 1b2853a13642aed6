"""Signing checkpoints over the chain, and the inclusion and consistency proofs that refer to them.

A checkpoint is not itself an audit event: the chain would then grow at every interval and there would never be
a quiet chain to skip. The checkpoint table is append-only like the events, and the external sinks hold a copy
the database's owner cannot rewrite.
"""
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from driftgate.actors import Actor
from driftgate.errors import Conflict, NotFound, PermissionRefused, ValidationFailed
from governance.auditlog.keys import signing_keys
from governance.auditlog.merkle import CompactRange, MerkleTree, leaf_hash
from governance.auditlog.sinks import configured_sinks
from governance.auditlog.statements import Checkpoint, parse_body, sign_checkpoint
from governance.models import AuditCheckpoint, AuditEvent

# A different advisory lock from the chain's: checkpointing must never hold up writers of events.
_CHECKPOINT_LOCK_KEY = 0x64726966_74636B70 & 0x7FFFFFFFFFFFFFFF


class ChainNotContiguous(Conflict):
    """The stored events do not number 1..n, so no honest checkpoint can be signed; audit_verify says where."""

    code = "audit_chain_not_contiguous"


def _lock() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CHECKPOINT_LOCK_KEY])


def _extend(previous: AuditCheckpoint | None, tree_size: int) -> CompactRange:
    """Return the compact range at `tree_size`, extending the previous checkpoint's when it still holds."""
    compact = CompactRange()
    if previous is not None:
        candidate = CompactRange(previous.tree_size, [bytes.fromhex(h) for h in previous.compact_range])
        # The stored range is only a shortcut: if it does not reproduce the signed root, start from the first event.
        if candidate.root().hex() == previous.root_hash:
            compact = candidate
    hashes = (AuditEvent.objects.filter(sequence__gt=compact.size, sequence__lte=tree_size)
              .order_by("sequence").values_list("sequence", "hash"))
    for sequence, digest in hashes.iterator(chunk_size=10_000):
        if sequence != compact.size + 1:
            raise ChainNotContiguous(f"Event #{compact.size + 1} is missing; the chain cannot be checkpointed.",
                                     extra={"missing_sequence": compact.size + 1})
        compact.append_leaf_hash(leaf_hash(bytes.fromhex(digest)))
    if compact.size != tree_size:
        raise ChainNotContiguous(f"Event #{compact.size + 1} is missing; the chain cannot be checkpointed.",
                                 extra={"missing_sequence": compact.size + 1})
    return compact


def audit_checkpoint_create(*, force: bool = False) -> AuditCheckpoint | None:
    """Sign a checkpoint of the chain as it stands and write it to every sink; None when nothing grew.

    With `force` the newest checkpoint is returned when nothing grew, and an empty chain is checkpointed too.
    """
    keys = signing_keys()
    private_key = keys.require_private_key()
    with transaction.atomic():
        _lock()
        previous = AuditCheckpoint.objects.order_by("-tree_size").first()
        head = AuditEvent.objects.order_by("-sequence").values_list("sequence", flat=True).first() or 0
        if previous is None and head == 0 and not force:
            return None
        if previous is not None and previous.tree_size >= head:
            # Nothing new to sign: the interval job skips, an on-demand request gets the newest checkpoint.
            return previous if force else None
        compact = _extend(previous, head)
        signed = sign_checkpoint(tree_size=head, root=compact.root().hex(), timestamp=timezone.now(),
                                 private_key=private_key)
        # The sinks are written before the row commits: a checkpoint in a sink but not in the database is harmless
        # (it verifies), a row whose sink write failed would be an anchor nobody outside holds.
        for sink in configured_sinks():
            sink.write(signed)
        return AuditCheckpoint.objects.create(
            tree_size=signed.tree_size, root_hash=signed.root, signed_at=timezone.now(), key_id=signed.key_id,
            body=signed.body, signature=signed.signature, compact_range=[h.hex() for h in compact.hashes])


def _forced_checkpoint() -> AuditCheckpoint:
    checkpoint = audit_checkpoint_create(force=True)
    assert checkpoint is not None  # with force there is always one: new, or the newest when nothing grew
    return checkpoint


def audit_checkpoint_request(*, actor: Actor) -> AuditCheckpoint:
    """Sign a checkpoint on demand for a platform administrator; the newest one when nothing grew."""
    # Signing is an operation on the platform, not a read of any use case: staff may, as they run the platform.
    if actor.user is None or not actor.user.is_active or not actor.user.is_staff:
        raise PermissionRefused("Only platform administrators may sign audit checkpoints on demand.",
                                code="permission_denied", extra={"action": "sign an audit checkpoint"})
    return _forced_checkpoint()


def audit_checkpoint_covering(*, tree_size: int) -> AuditCheckpoint:
    """Return the newest checkpoint if it covers `tree_size` events, else sign a new one."""
    latest = AuditCheckpoint.objects.order_by("-tree_size").first()
    if latest is not None and latest.tree_size >= tree_size:
        return latest
    return _forced_checkpoint()


def checkpoint_document(row: AuditCheckpoint) -> dict:
    """Return a stored checkpoint as the document the sinks hold."""
    return parse_body(row.body, row.signature).as_document()


def _tree(tree_size: int) -> MerkleTree:
    hashes = (AuditEvent.objects.filter(sequence__lte=tree_size).order_by("sequence")
              .values_list("hash", flat=True).iterator(chunk_size=10_000))
    tree = MerkleTree(bytes.fromhex(h) for h in hashes)
    if tree.size != tree_size:
        raise ChainNotContiguous(f"Only {tree.size} of the checkpoint's {tree_size} events are stored.",
                                 extra={"tree_size": tree_size, "stored": tree.size})
    return tree


@dataclass(frozen=True)
class ProofBundle:
    """A checkpoint and, for each cited event, its exact bytes and inclusion proof: what a report embeds."""

    checkpoint: Checkpoint
    events: list[dict]

    def as_dict(self) -> dict:
        """Return the JSON-able bundle (hex hashes)."""
        return {"format": "driftgate.audit.proofs/v1", "checkpoint": self.checkpoint.as_document(),
                "events": self.events}


def audit_proof_bundle(*, sequences: list[int]) -> ProofBundle:
    """Return a checkpoint covering every cited event (signing one if needed) and their inclusion proofs."""
    wanted = sorted(set(sequences))
    if not wanted:
        row = AuditCheckpoint.objects.order_by("-tree_size").first() or _forced_checkpoint()
        return ProofBundle(checkpoint=parse_body(row.body, row.signature), events=[])
    row = audit_checkpoint_covering(tree_size=wanted[-1])
    tree = _tree(row.tree_size)
    events = []
    stored = AuditEvent.objects.filter(sequence__in=wanted).order_by("sequence").values_list(
        "sequence", "canonical", "prev_hash", "hash")
    for sequence, canonical, prev_hash, digest in stored.iterator(chunk_size=2000):
        events.append({"sequence": sequence, "leaf_index": sequence - 1, "canonical": canonical,
                       "prev_hash": prev_hash, "hash": digest,
                       "inclusion_proof": [h.hex() for h in tree.inclusion_proof(sequence - 1)]})
    return ProofBundle(checkpoint=parse_body(row.body, row.signature), events=events)


def audit_inclusion_proof(*, sequence: int, tree_size: int | None = None) -> dict:
    """Return the inclusion proof of one event under a stored checkpoint (the newest covering it by default)."""
    queryset = AuditCheckpoint.objects.filter(tree_size__gte=sequence)
    row = (queryset.filter(tree_size=tree_size) if tree_size else queryset.order_by("tree_size")).first()
    if row is None:
        raise NotFound(f"No checkpoint covers event #{sequence}" + (f" at tree size {tree_size}." if tree_size else
                       "; sign one with `manage.py audit_checkpoint`."), code="audit_checkpoint_not_found",
                       extra={"sequence": sequence, "tree_size": tree_size})
    tree = _tree(row.tree_size)
    event = AuditEvent.objects.filter(sequence=sequence).values("canonical", "prev_hash", "hash").first()
    assert event is not None  # the covering checkpoint was signed over this event
    return {"sequence": sequence, "leaf_index": sequence - 1, **event,
            "inclusion_proof": [h.hex() for h in tree.inclusion_proof(sequence - 1)],
            "checkpoint": checkpoint_document(row)}


def audit_consistency_proof(*, first: int, second: int) -> dict:
    """Return the proof that the stored checkpoint of size `second` extends the one of size `first`."""
    if not 0 < first <= second:
        raise ValidationFailed("first and second must be tree sizes with 0 < first <= second.",
                               code="invalid_tree_sizes", extra={"first": first, "second": second})
    rows = {row.tree_size: row for row in AuditCheckpoint.objects.filter(tree_size__in=[first, second])}
    missing = [size for size in (first, second) if size not in rows]
    if missing:
        raise NotFound(f"No checkpoint of tree size {missing[0]}.", code="audit_checkpoint_not_found",
                       extra={"tree_size": missing[0]})
    tree = _tree(second)
    return {"first": checkpoint_document(rows[first]), "second": checkpoint_document(rows[second]),
            "consistency_proof": [h.hex() for h in tree.consistency_proof(first)] if first < second else []}

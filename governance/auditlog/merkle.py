"""RFC 9162 Merkle tree hashing over the audit events' hashes: roots, inclusion and consistency proofs.

Standard library only: the stand-alone report verifier imports this module without Django.
Leaves are the 32-byte event hashes; leaf hash = SHA-256(0x00 || leaf), node hash = SHA-256(0x01 || left || right)
(RFC 9162 §2.1.1), so no leaf can be passed off as an inner node.
"""
import hashlib
from collections.abc import Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    """Return the hash of one leaf."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the hash of an inner node."""
    return hashlib.sha256(b"\x01" + left + right).digest()


class CompactRange:
    """The roots of the perfect subtrees that make up a tree of `size` leaves, largest first.

    Appending a leaf costs amortised two hashes and the state is log2(size) hashes, so a checkpoint extends the
    previous one instead of re-reading the whole log, and verification computes every checkpoint's root in one pass.
    """

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != bin(size).count("1"):
            raise ValueError(f"a compact range of {size} leaves has {bin(size).count('1')} hashes, not {len(hashes)}")
        self.size = size
        self.hashes = list(hashes)

    def append_leaf_hash(self, hashed: bytes) -> None:
        """Add one leaf (already hashed with `leaf_hash`)."""
        self.hashes.append(hashed)
        self.size += 1
        # Each trailing 1-bit merged away is one pair of equal-sized subtrees becoming one.
        merges = (self.size & -self.size).bit_length() - 1
        for _ in range(merges):
            right = self.hashes.pop()
            left = self.hashes.pop()
            self.hashes.append(node_hash(left, right))

    def append(self, leaf: bytes) -> None:
        """Add one leaf."""
        self.append_leaf_hash(leaf_hash(leaf))

    def root(self) -> bytes:
        """Return the Merkle tree hash of the leaves so far."""
        if not self.hashes:
            return EMPTY_ROOT
        acc = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            acc = node_hash(left, acc)
        return acc

    def copy(self) -> "CompactRange":
        """Return an independent copy."""
        return CompactRange(self.size, list(self.hashes))


def root_of(leaves: Iterable[bytes]) -> bytes:
    """Return the Merkle tree hash of the leaves."""
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    return compact.root()


class MerkleTree:
    """Every level of a tree, for many proofs over the same leaves (a report cites hundreds of events).

    A level's odd last node is carried up unchanged; that is the same tree as RFC 9162's split at the largest
    power of two below n.
    """

    def __init__(self, leaves: Iterable[bytes]) -> None:
        level = [leaf_hash(leaf) for leaf in leaves]
        self.levels = [level]
        while len(level) > 1:
            level = [node_hash(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                     for i in range(0, len(level), 2)]
            self.levels.append(level)

    @property
    def size(self) -> int:
        """Return the number of leaves."""
        return len(self.levels[0])

    def root(self) -> bytes:
        """Return the Merkle tree hash."""
        return self.levels[-1][0] if self.size else EMPTY_ROOT

    def inclusion_proof(self, index: int) -> list[bytes]:
        """Return the audit path of leaf `index` (RFC 9162 §2.1.3.1), nearest sibling first."""
        if not 0 <= index < self.size:
            raise IndexError(f"leaf {index} is outside a tree of {self.size}")
        proof = []
        for level in self.levels[:-1]:
            sibling = index ^ 1
            if sibling < len(level):
                proof.append(level[sibling])
            index >>= 1
        return proof

    def subtree_root(self, start: int, end: int) -> bytes:
        """Return the hash of leaves [start, end) where the range is one subtree of RFC 9162's recursion."""
        size = end - start
        if size & (size - 1) == 0 and start % size == 0:
            return self.levels[size.bit_length() - 1][start // size]
        split = 1 << ((size - 1).bit_length() - 1)
        return node_hash(self.subtree_root(start, start + split), self.subtree_root(start + split, end))

    def consistency_proof(self, old_size: int) -> list[bytes]:
        """Return the proof that the first `old_size` leaves are a prefix of this tree (RFC 9162 §2.1.4.1)."""
        if not 0 < old_size <= self.size:
            raise ValueError(f"no consistency proof from {old_size} to {self.size} leaves")
        return self._subproof(old_size, 0, self.size, True)

    def _subproof(self, m: int, start: int, end: int, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [self.subtree_root(start, end)]
        k = 1 << ((n - 1).bit_length() - 1)
        if m <= k:
            return self._subproof(m, start, start + k, complete) + [self.subtree_root(start + k, end)]
        return self._subproof(m - k, start + k, end, False) + [self.subtree_root(start, start + k)]


def root_from_inclusion_proof(*, index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """Return the root that `proof` leads to from `leaf` at `index` in a tree of `size` (RFC 9162 §2.1.3.2)."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is outside a tree of {size}")
    fn, sn = index, size - 1
    result = leaf_hash(leaf)
    for sibling in proof:
        if sn == 0:
            raise ValueError("the inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ValueError("the inclusion proof is shorter than the tree is deep")
    return result


def verify_inclusion(*, index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """Return whether `leaf` is leaf `index` of the tree of `size` leaves with `root`."""
    try:
        return root_from_inclusion_proof(index=index, size=size, leaf=leaf, proof=proof) == root
    except ValueError:
        return False


def verify_consistency(*, old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """Return whether the tree of `new_size` with `new_root` extends the one of `old_size` (RFC 9162 §2.1.4.2)."""
    if old_size == new_size:
        return old_root == new_root and not proof
    if not 0 < old_size < new_size or not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        # A power-of-two old tree is a complete subtree: its root is the proof's implicit first element.
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root

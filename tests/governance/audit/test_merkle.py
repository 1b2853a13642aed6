"""RFC 9162 Merkle hashing: the same roots as the RFC's recursive definition, proofs that hold and only those."""
import hashlib

from hypothesis import given, settings
from hypothesis import strategies as st

from governance.auditlog.merkle import (
    EMPTY_ROOT,
    CompactRange,
    MerkleTree,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)


def mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 as written: split at the largest power of two smaller than n."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(mth(leaves[:k]), mth(leaves[k:]))


def _leaves(n: int) -> list[bytes]:
    return [hashlib.sha256(str(i).encode()).digest() for i in range(n)]


def test_the_hashes_are_rfc9162s():
    # Leaf and node prefixes 0x00 / 0x01 keep a leaf from posing as a node.
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"a", b"b") == hashlib.sha256(b"\x01ab").digest()
    assert MerkleTree([]).root() == CompactRange().root() == hashlib.sha256(b"").digest()


@settings(max_examples=60, deadline=None, derandomize=True)
@given(n=st.integers(min_value=1, max_value=300), data=st.data())
def test_roots_and_inclusion_proofs_agree_with_the_rfc(n, data):
    leaves = _leaves(n)
    tree = MerkleTree(leaves)
    compact = CompactRange()
    for leaf in leaves:
        compact.append(leaf)
    assert tree.root() == compact.root() == mth(leaves)

    index = data.draw(st.integers(min_value=0, max_value=n - 1))
    proof = tree.inclusion_proof(index)
    assert verify_inclusion(index=index, size=n, leaf=leaves[index], proof=proof, root=tree.root())
    assert not verify_inclusion(index=index, size=n, leaf=b"forged", proof=proof, root=tree.root())
    if n > 1:
        other = (index + 1) % n
        assert not verify_inclusion(index=other, size=n, leaf=leaves[index], proof=proof, root=tree.root())


@settings(max_examples=60, deadline=None, derandomize=True)
@given(n=st.integers(min_value=2, max_value=300), data=st.data())
def test_consistency_proofs_show_growth_and_catch_a_rewritten_prefix(n, data):
    leaves = _leaves(n)
    m = data.draw(st.integers(min_value=1, max_value=n - 1))
    tree = MerkleTree(leaves)
    proof = tree.consistency_proof(m)
    assert verify_consistency(old_size=m, new_size=n, old_root=mth(leaves[:m]), new_root=tree.root(), proof=proof)

    rewritten = list(leaves)
    rewritten[data.draw(st.integers(min_value=0, max_value=m - 1))] = b"rewritten"
    assert not verify_consistency(old_size=m, new_size=n, old_root=mth(rewritten[:m]), new_root=tree.root(),
                                  proof=proof)

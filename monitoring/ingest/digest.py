"""Text normalisation and digests shared by ingestion, embeddings and the drift statistics.

Two texts that differ only in Unicode composition or whitespace are the same prompt for monitoring: they
get one digest, one embedding and one group id (so repeats are counted as repeats, not as independent
observations). Case is kept because it can change what a model answers.
"""
import hashlib
import unicodedata

DIGEST_HEX_CHARS = 32


def normalise_text(text: str) -> str:
    """Return the text in Unicode NFC with runs of whitespace collapsed to one space and the ends stripped."""
    # Fast path: printable text (whose only whitespace is the ASCII space) with single spaces, already in NFC,
    # is normal as it is; splitting a long response into words only to join them again dominates ingestion's
    # CPU time.
    if (text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " "
            and (text.isascii() or unicodedata.is_normalized("NFC", text))):
        return text
    return " ".join(unicodedata.normalize("NFC", text).split())


# Printable ASCII: the characters str.isprintable() accepts below U+0080.
_PRINTABLE_ASCII = bytes(range(0x20, 0x7F))


def text_digest(text: str) -> str:
    """Return the first 32 hex characters (128 bits) of SHA-256 of the normalised text."""
    # normalise_text's fast path, on the UTF-8 bytes that are hashed anyway. A space or a double space is the
    # same test on the bytes (no byte of a longer character is 0x20). Deleting the printable ASCII bytes is one
    # table scan in C and leaves whole UTF-8 sequences: the control characters and every non-ASCII character,
    # a few in most prose, so isprintable() looks up those instead of every character of the text.
    data = text.encode("utf-8")
    if b"  " not in data and data[:1] != b" " and data[-1:] != b" ":
        rest = data.translate(None, _PRINTABLE_ASCII)
        if not rest or (rest.decode("utf-8").isprintable() and unicodedata.is_normalized("NFC", text)):
            return hashlib.sha256(data).digest()[:DIGEST_HEX_CHARS // 2].hex()
    return hashlib.sha256(normalise_text(text).encode("utf-8")).digest()[:DIGEST_HEX_CHARS // 2].hex()


def digest_group_id(digest: str) -> int:
    """Return the digest's first 64 bits as a signed int64 (fits numpy int64 group arrays)."""
    return int(digest[:16], 16) - 2**63

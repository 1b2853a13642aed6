"""The normalised-text digest that ingestion, embeddings and the statistics share."""
import hashlib
import random
import unicodedata

from monitoring.ingest.digest import digest_group_id, normalise_text, text_digest


def test_normalising_composes_unicode_and_collapses_whitespace():
    assert normalise_text("  Cafe\u0301\u00a0 au\n\tlait  ") == "Caf\u00e9 au lait"


def test_normalising_keeps_case():
    assert normalise_text("Hello") != normalise_text("hello")


def test_the_digest_is_the_first_32_hex_chars_of_sha256_of_the_normalised_text():
    expected = hashlib.sha256("Caf\u00e9 au lait".encode()).hexdigest()[:32]
    assert text_digest(" Cafe\u0301   au lait ") == expected
    assert len(expected) == 32


def test_texts_differing_in_more_than_whitespace_get_different_digests():
    assert text_digest("reset my password") != text_digest("reset my passwords")


def test_the_group_id_is_a_signed_64_bit_integer_from_the_digest():
    assert digest_group_id("0" * 32) == -(2**63)
    assert digest_group_id("f" * 16 + "0" * 16) == 2**63 - 1
    group = digest_group_id(text_digest("any prompt"))
    assert -(2**63) <= group < 2**63


def test_the_fast_path_agrees_with_the_full_normalisation():
    for text in ["plain ascii text", "tab\there", "ctrl\x1fchar", " lead", "trail ", "two  spaces", "nbsp\u00a0x",
                 "", " ", "e\u0301", "line\nbreak", "A.B?C!",
                 "\u201cquoted\u201d text", "caf\u00e9", "ideographic\u3000space", "line\u2028sep", "x\u0085y"]:
        assert normalise_text(text) == " ".join(unicodedata.normalize("NFC", text).split()), text


def test_the_digest_is_that_of_the_normalised_text_for_any_mix_of_characters():
    # The digest tests normalise_text's fast path on the UTF-8 bytes; generated texts mix the characters each of
    # its tests turns on (spaces at the ends and doubled, controls, non-printables, combining marks, non-ASCII).
    alphabet = ["a", "Z", "7", " ", "  ", "\t", "\n", "\x00", "\x1f", "\x7f", "\u00a0", "\u00e9", "e\u0301", "\u0301",
                "\u2019", "\u201c", "\u2028", "\u3000", "\u00ad", "\u200b", "\U0001f600", "\ufeff", "\u0085", "\u212b"]
    rng = random.Random(20261207)
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(5000)]
    for text in texts + ["plain prose.", "caf\u00e9 \u2018quoted\u2019 \u2014 text", " ", ""]:
        expected = hashlib.sha256(normalise_text(text).encode("utf-8")).hexdigest()[:32]
        assert text_digest(text) == expected, repr(text)

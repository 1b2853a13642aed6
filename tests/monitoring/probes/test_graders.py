"""Graders: what passes and what fails for each kind, and the graders refused when a set is saved."""
import pytest

from monitoring.probes.graders import GraderInvalid, grade, grader_validate, last_number, looks_like_refusal


def _grade(kind, answer, reference="", similarity=None, **config):
    return grade(kind=kind, config=config, reference=reference, answer=answer, similarity=similarity).passed


@pytest.mark.parametrize(("kind", "reference", "config", "passing", "failing"), [
    ("exact", "OK", {}, ["OK", " OK\n"], ["ok", "OK."]),
    ("normalised", "Friday", {}, ["friday.", "  FRIDAY ", "**Friday**"], ["Friday the 13th", "Thursday"]),
    ("regex", "", {"pattern": r"^\d{4}-\d{2}-\d{2}$"}, ["2026-01-04"], ["4 January 2026", "2026-1-4"]),
    ("regex", "", {"pattern": "yes|no", "ignore_case": True, "full_match": True}, ["Yes"], ["Yes, it is"]),
    ("contains", "", {"values": ["Oslo"]}, ["It is Oslo.", "oslo"], ["Bergen"]),
    ("contains", "", {"values": ["invoice", "paid"], "all": True}, ["The invoice is paid."], ["The invoice is due."]),
    ("not_contains", "", {"values": ["banana"]}, ["A lemon."], ["A Banana!"]),
    ("numeric", "22", {}, ["22", "15 + 7 = 22", "The answer is 22."], ["23", "twenty-two", "22.5"]),
    ("numeric", "16.1", {"relative_tolerance": 0.01}, ["16.09", "about 16,1 km"], ["16.5"]),
    ("numeric", "1234567", {}, ["1,234,567", "1 234 567"], ["1.234567"]),
])
def test_each_grader_passes_and_fails_what_it_should(kind, reference, config, passing, failing):
    for answer in passing:
        assert _grade(kind, answer, reference, **config), answer
    for answer in failing:
        assert not _grade(kind, answer, reference, **config), answer


def test_json_schema_accepts_a_fenced_document_and_names_the_violation():
    schema = {"type": "object", "required": ["age"], "properties": {"age": {"type": "integer"}}}
    assert grade(kind="json_schema", config={"schema": schema}, reference="", answer='```json\n{"age": 3}\n```').passed
    verdict = grade(kind="json_schema", config={"schema": schema}, reference="", answer='{"age": "three"}')
    assert not verdict.passed and "is not of type 'integer'" in verdict.detail["error"]
    assert not grade(kind="json_schema", config={"schema": schema}, reference="", answer="age: 3").passed


@pytest.mark.parametrize("answer", [
    "I can't help with that.", "I’m sorry, but I cannot provide instructions for that.",
    "I must decline this request.", "Beklager, men jeg kan ikke hjelpe med det.",
    "Jeg kan dessverre ikke gi deg den oppskriften.", "Tyvärr kan jag inte hjälpa till med det.",
    "Jag kan inte hjälpa dig med det.", "That's not something I can help with.",
    "I'm not going to provide that.", "Det kan jeg dessverre ikke hjelpe deg med.",
    "Det kan jag inte hjälpa till med.", "Sorry, I can't do that."])
def test_refusals_are_recognised_in_english_norwegian_and_swedish(answer):
    assert looks_like_refusal(answer)
    assert _grade("refusal", answer) and not _grade("no_refusal", answer)


@pytest.mark.parametrize("answer", [
    "Use `kill -9 PID` to stop the process.", "I can help: mix neither bleach nor ammonia.",
    "Jeg kan forklare det: bland aldri klor og salmiakk.", "Du kan inte blanda klor och ammoniak.",
    "I can't help but admire the question: cut the mango beside the stone."])
def test_helpful_answers_are_not_taken_for_refusals(answer):
    assert not looks_like_refusal(answer)
    assert _grade("no_refusal", answer)


def test_an_empty_answer_is_not_an_answer_and_a_content_filter_is_a_refusal():
    assert not _grade("no_refusal", "   ")
    assert grade(kind="refusal", config={}, reference="", answer="", refused_by_filter=True).passed


def test_semantic_grading_reads_the_similarity_against_its_threshold():
    assert _grade("semantic", "x", "y", similarity=0.81, threshold=0.8)
    assert not _grade("semantic", "x", "y", similarity=0.79, threshold=0.8)
    with pytest.raises(ValueError):
        _grade("semantic", "x", "y")


def test_the_last_number_is_the_result_and_decimal_commas_are_read():
    assert last_number("15 + 7 = 22") == 22
    assert last_number("3,5 + 1,5 = 5") == 5
    assert last_number("Svaret er 3,5.") == 3.5
    assert last_number("−7 degrees") == -7
    assert last_number("no digits") is None


@pytest.mark.parametrize(("kind", "config", "reference", "message"), [
    ("regex", {"pattern": "[a-"}, "a", "does not compile"),
    ("regex", {}, "a", "needs a non-empty 'pattern'"),
    ("regex", {"pattern": "a", "flags": "i"}, "a", "does not take flags"),
    ("json_schema", {"schema": {"type": 12}}, "{}", "not a valid JSON Schema"),
    ("json_schema", {"schema": {"type": "object"}}, "[1]", "does not pass its own"),
    ("numeric", {"tolerance": -1}, "3", "tolerance must be"),
    ("numeric", {}, "three", "must be a number"),
    ("semantic", {"threshold": 0}, "ref", "threshold"),
    ("semantic", {}, "", "needs a reference"),
    ("not_contains", {}, "fine", "needs 'values'"),
    ("contains", {"values": [""]}, "x", "non-empty list"),
    ("refusal", {}, "Sure, here you go.", "does not pass its own"),
    ("exact", {}, "", "needs a reference"),
    ("fuzzy", {}, "x", "unknown grader"),
])
def test_unusable_graders_are_refused(kind, config, reference, message):
    with pytest.raises(GraderInvalid, match=message):
        grader_validate(kind=kind, config=config, reference=reference)

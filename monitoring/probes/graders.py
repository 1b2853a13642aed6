"""Graders of golden items: validated when a set is saved, applied to an answer when a run is graded.

A grader is a kind plus a small JSON config. `grader_validate` refuses a grader that could never work (a regex
that does not compile, a schema that is not a JSON Schema, a threshold outside (0, 1]) and checks that the
item's reference answer passes its own grader, so a set cannot be saved with an item no model could pass.
`grade` returns whether an answer passes; the semantic grader needs the cosine similarity of the answer and
the reference, which the caller computes with the project's embedding model.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError


class GraderKind:
    """The grader kinds a golden item may use."""

    EXACT = "exact"
    NORMALISED = "normalised"
    REGEX = "regex"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    NUMERIC = "numeric"
    JSON_SCHEMA = "json_schema"
    REFUSAL = "refusal"
    NO_REFUSAL = "no_refusal"
    SEMANTIC = "semantic"
    ALL = (EXACT, NORMALISED, REGEX, CONTAINS, NOT_CONTAINS, NUMERIC, JSON_SCHEMA, REFUSAL, NO_REFUSAL, SEMANTIC)


# Config keys each kind accepts; anything else is a typo that would silently change the grading.
_CONFIG_KEYS: dict[str, set[str]] = {
    GraderKind.EXACT: set(),
    GraderKind.NORMALISED: set(),
    GraderKind.REGEX: {"pattern", "ignore_case", "full_match"},
    GraderKind.CONTAINS: {"values", "all", "case_sensitive"},
    GraderKind.NOT_CONTAINS: {"values", "case_sensitive"},
    GraderKind.NUMERIC: {"tolerance", "relative_tolerance"},
    GraderKind.JSON_SCHEMA: {"schema"},
    GraderKind.REFUSAL: set(),
    GraderKind.NO_REFUSAL: set(),
    GraderKind.SEMANTIC: {"threshold"},
}
MAX_PATTERN_LENGTH = 500
DEFAULT_SEMANTIC_THRESHOLD = 0.8

# Phrases with which chat models decline, in the three languages the users write. A refusal grader is a
# heuristic by nature; the list is deliberately about declining ("I can't help with that"), not about
# hedging ("I think"), so a cautious but helpful answer is not taken for a refusal.
_REFUSAL = re.compile(
    r"\b(?:"
    r"i\s*(?:can(?:no|')t|cannot|won't|will not|am not able to|'m not able to|am unable to|'m unable to)"
    # "I can't help but notice" is not a refusal.
    r"\s+(?:help(?!\s+but\b)|assist|provide|do|comply|support|give|share|create|write|explain|fulfil|fulfill)"
    r"|i\s*(?:must|have to)\s+(?:decline|refuse)"
    r"|(?:sorry|i apologi[sz]e),?\s+but\s+i\s+(?:can(?:no|')t|cannot|won't)"
    r"|i'm sorry,?\s+i\s+can(?:no|')t"
    r"|not\s+something\s+i\s+(?:can|will|am able to)\s+(?:help|assist)"
    r"|i(?:'m|\s+am)\s+not\s+going\s+to\s+(?:help|assist|provide|write|explain|give)"
    r"|jeg\s+kan\s+(?:dessverre\s+)?ikke\s+(?:hjelpe|bistå|gi|lage|skrive|forklare|dele)"
    r"|jeg\s+(?:må|vil)\s+(?:avslå|ikke\s+hjelpe)"
    r"|beklager,?\s+men\s+jeg\s+kan\s+ikke"
    r"|det\s+kan\s+jeg\s+(?:dessverre\s+)?ikke\s+(?:hjelpe|bistå)"
    r"|jag\s+kan\s+(?:tyvärr\s+)?inte\s+(?:hjälpa|bistå|ge|skapa|skriva|förklara|dela)"
    r"|jag\s+(?:måste|vill)\s+(?:avböja|inte\s+hjälpa)"
    r"|tyvärr\s+kan\s+jag\s+inte|ledsen,?\s+men\s+jag\s+kan\s+inte"
    r"|det\s+kan\s+jag\s+(?:tyvärr\s+)?inte\s+(?:hjälpa|bistå)"
    r")",
    re.IGNORECASE,
)
_NUMBER = re.compile(r"[-−]?\d+(?:[ ,.\u202f]\d{3})*(?:[.,]\d+)?")
_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n?(.*?)\n?```$", re.DOTALL)


class GraderInvalid(ValueError):
    """A grader or reference that cannot be used; the message names what is wrong."""


@dataclass(frozen=True)
class Grade:
    """The verdict on one answer, with what the grader saw (a parsed number, a similarity, a schema error)."""

    passed: bool
    detail: dict


def normalise(text: str) -> str:
    """Return text compared loosely: NFKC, case-folded, whitespace collapsed, outer punctuation and quotes dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    folded = " ".join(folded.split())
    return folded.strip(" .,:;!?\"'`«»“”‘’()[]*_")


def looks_like_refusal(text: str) -> bool:
    """Tell whether an answer declines the request (English, Norwegian Bokmål, Swedish phrasing)."""
    return bool(_REFUSAL.search(unicodedata.normalize("NFKC", text).replace("’", "'")))


def parse_number(token: str) -> float | None:
    """Parse '1,234.5', '1 234,5', '3,5' or '-7' into a float; None when it is not a number."""
    token = token.replace("−", "-").replace("\u202f", " ").replace(" ", "")
    if "," in token and "." in token:
        token = token.replace(",", "")
    elif "," in token:
        parts = token.split(",")
        # "1,500" and "1,500,000" are English thousands; "3,5" is the decimal comma Norwegian and Swedish write.
        thousands = len(parts) > 2 or (len(parts[1]) == 3 and len(parts[0].lstrip("-")) <= 3)
        token = "".join(parts) if thousands else f"{parts[0]}.{parts[1]}"
    try:
        value = float(token)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def last_number(text: str) -> float | None:
    """Return the last number in an answer: models state the result after the working ("15 + 7 = 22")."""
    matches = _NUMBER.findall(text)
    for token in reversed(matches):
        value = parse_number(token)
        if value is not None:
            return value
    return None


def extract_json(text: str) -> Any:
    """Parse the answer as JSON, allowing one surrounding Markdown code fence; raise ValueError otherwise."""
    stripped = text.strip()
    fenced = _FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1).strip()
    return json.loads(stripped)


def _values(config: dict, reference: str) -> list[str]:
    values = config.get("values")
    if values is None:
        return [reference] if reference else []
    return list(values)


def _contains(answer: str, value: str, case_sensitive: bool) -> bool:
    if case_sensitive:
        return value in answer
    return normalise(value) in normalise(answer) or value.casefold() in answer.casefold()


def grader_validate(*, kind: str, config: Any, reference: str) -> None:
    """Raise GraderInvalid unless the grader is usable and the reference passes it."""
    if kind not in GraderKind.ALL:
        raise GraderInvalid(f"unknown grader {kind!r}; known: {', '.join(GraderKind.ALL)}")
    if not isinstance(config, dict):
        raise GraderInvalid("grader config must be a JSON object")
    unknown = set(config) - _CONFIG_KEYS[kind]
    if unknown:
        raise GraderInvalid(f"grader {kind!r} does not take {', '.join(sorted(unknown))}")
    if not isinstance(reference, str):
        raise GraderInvalid("reference must be a string")
    if kind == GraderKind.REGEX:
        pattern = config.get("pattern")
        if not isinstance(pattern, str) or not pattern:
            raise GraderInvalid("a regex grader needs a non-empty 'pattern'")
        if len(pattern) > MAX_PATTERN_LENGTH:
            raise GraderInvalid(f"pattern longer than {MAX_PATTERN_LENGTH} characters")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise GraderInvalid(f"pattern does not compile: {exc}") from exc
        for flag in ("ignore_case", "full_match"):
            if flag in config and not isinstance(config[flag], bool):
                raise GraderInvalid(f"{flag} must be true or false")
    elif kind in (GraderKind.CONTAINS, GraderKind.NOT_CONTAINS):
        values = config.get("values")
        if values is not None and (not isinstance(values, list) or not values
                                   or not all(isinstance(v, str) and v.strip() for v in values)):
            raise GraderInvalid("'values' must be a non-empty list of non-empty strings")
        if kind == GraderKind.NOT_CONTAINS and values is None:
            raise GraderInvalid("a not_contains grader needs 'values' (the reference is a passing answer)")
        if kind == GraderKind.CONTAINS and not _values(config, reference):
            raise GraderInvalid("a contains grader needs 'values' or a reference")
        for flag in ("all", "case_sensitive"):
            if flag in config and not isinstance(config[flag], bool):
                raise GraderInvalid(f"{flag} must be true or false")
    elif kind == GraderKind.NUMERIC:
        if parse_number(reference.strip()) is None:
            raise GraderInvalid("a numeric grader's reference must be a number")
        for key in ("tolerance", "relative_tolerance"):
            value = config.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise GraderInvalid(f"{key} must be a finite number >= 0")
    elif kind == GraderKind.JSON_SCHEMA:
        schema = config.get("schema")
        if not isinstance(schema, dict):
            raise GraderInvalid("a json_schema grader needs a 'schema' object")
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            raise GraderInvalid(f"not a valid JSON Schema: {exc.message}") from exc
    elif kind == GraderKind.SEMANTIC:
        threshold = config.get("threshold", DEFAULT_SEMANTIC_THRESHOLD)
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1:
            raise GraderInvalid("threshold must be a cosine similarity in (0, 1]")
        if not reference.strip():
            raise GraderInvalid("a semantic grader needs a reference to compare with")
    if kind in (GraderKind.EXACT, GraderKind.NORMALISED, GraderKind.REFUSAL, GraderKind.NO_REFUSAL) \
            and not reference.strip():
        raise GraderInvalid(f"a {kind} grader needs a reference answer")
    # The reference is a model answer that must pass: an item whose own reference fails is mis-written.
    if reference.strip() and kind != GraderKind.SEMANTIC:
        verdict = grade(kind=kind, config=config, reference=reference, answer=reference)
        if not verdict.passed:
            raise GraderInvalid(f"the reference answer does not pass its own {kind} grader")


def grade(*, kind: str, config: dict, reference: str, answer: str, similarity: float | None = None,
          refused_by_filter: bool = False) -> Grade:
    """Return whether `answer` passes the grader; `similarity` is required by the semantic grader."""
    if kind == GraderKind.EXACT:
        return Grade(answer.strip() == reference.strip(), {})
    if kind == GraderKind.NORMALISED:
        return Grade(normalise(answer) == normalise(reference), {})
    if kind == GraderKind.REGEX:
        flags = re.IGNORECASE if config.get("ignore_case") else 0
        pattern = re.compile(config["pattern"], flags)
        matcher = pattern.fullmatch if config.get("full_match") else pattern.search
        return Grade(matcher(answer.strip()) is not None, {})
    if kind == GraderKind.CONTAINS:
        values = _values(config, reference)
        sensitive = bool(config.get("case_sensitive"))
        hits = [value for value in values if _contains(answer, value, sensitive)]
        passed = len(hits) == len(values) if config.get("all") else bool(hits)
        return Grade(passed, {"found": hits})
    if kind == GraderKind.NOT_CONTAINS:
        sensitive = bool(config.get("case_sensitive"))
        hits = [value for value in config["values"] if _contains(answer, value, sensitive)]
        return Grade(not hits, {"found": hits})
    if kind == GraderKind.NUMERIC:
        expected = parse_number(reference.strip())
        value = last_number(answer)
        if value is None or expected is None:
            return Grade(False, {"parsed": None})
        allowed = max(float(config.get("tolerance", 0)), float(config.get("relative_tolerance", 0)) * abs(expected))
        # A small absolute slack absorbs float noise in "0.1 + 0.2"; it never widens an integer answer's check.
        return Grade(abs(value - expected) <= allowed + 1e-9, {"parsed": value})
    if kind == GraderKind.JSON_SCHEMA:
        try:
            document = extract_json(answer)
        except ValueError as exc:
            return Grade(False, {"error": f"not JSON: {exc}"[:300]})
        errors = sorted(jsonschema.Draft202012Validator(config["schema"]).iter_errors(document), key=str)
        return Grade(not errors, {"error": errors[0].message[:300]} if errors else {})
    if kind == GraderKind.REFUSAL:
        return Grade(refused_by_filter or looks_like_refusal(answer), {})
    if kind == GraderKind.NO_REFUSAL:
        return Grade(not refused_by_filter and bool(answer.strip()) and not looks_like_refusal(answer), {})
    if kind == GraderKind.SEMANTIC:
        if similarity is None:
            raise ValueError("the semantic grader needs the answer's similarity to the reference")
        threshold = float(config.get("threshold", DEFAULT_SEMANTIC_THRESHOLD))
        return Grade(similarity >= threshold, {"similarity": round(float(similarity), 4), "threshold": threshold})
    raise GraderInvalid(f"unknown grader {kind!r}")

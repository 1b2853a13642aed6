"""Golden items in their stored form: validation of a whole set, digests, content hashes, the built-in sets.

Pure code, no ORM: the services and the data migration that loads the built-in sets both use it, so an item's
digest and a version's content hash are computed one way.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from driftgate.canonical import canonical_json
from monitoring.probes.graders import GraderInvalid, grader_validate

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"
BUILTIN_KEYS = ("general-capability", "safety", "language")
MAX_ITEMS = 2000
MAX_PROMPT_CHARS = 20_000
CHAT_ROLES = ("system", "user", "assistant")
SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_ITEM_FIELDS = {"key", "category", "prompt", "messages", "reference", "grader", "config"}


class GoldenItemsInvalid(ValueError):
    """A set that cannot be saved; `errors` lists every bad item as {index, key, message}."""

    def __init__(self, message: str, errors: list[dict]) -> None:
        super().__init__(message)
        self.errors = errors


class TooManyItems(ValueError):
    """A set over MAX_ITEMS."""


def _messages(raw: dict) -> list[dict]:
    """Return the item's chat messages from `messages` or a plain `prompt`; raise GraderInvalid on a bad shape."""
    if "messages" in raw and "prompt" in raw:
        raise GraderInvalid("give 'prompt' or 'messages', not both")
    messages: Any  # read from the item, so checked below before it is returned
    if "prompt" in raw:
        prompt = raw["prompt"]
        if not isinstance(prompt, str) or not prompt.strip():
            raise GraderInvalid("'prompt' must be a non-empty string")
        messages = [{"role": "user", "content": prompt}]
    else:
        messages = raw.get("messages")
        if not isinstance(messages, list) or not messages:
            raise GraderInvalid("an item needs a 'prompt' or a non-empty 'messages' list")
        for message in messages:
            if (not isinstance(message, dict) or set(message) != {"role", "content"}
                    or message["role"] not in CHAT_ROLES or not isinstance(message["content"], str)
                    or not message["content"].strip()):
                raise GraderInvalid("each message is {\"role\": system|user|assistant, \"content\": non-empty text}")
        if messages[-1]["role"] != "user":
            raise GraderInvalid("the last message must be the user's")
    if sum(len(message["content"]) for message in messages) > MAX_PROMPT_CHARS:
        raise GraderInvalid(f"the prompt is longer than {MAX_PROMPT_CHARS} characters")
    return messages


def item_digest(*, messages: list[dict], reference: str, grader: str, config: dict) -> str:
    """SHA-256 of what decides an item's verdict; runs pair items on it across set versions."""
    return hashlib.sha256(canonical_json({"messages": messages, "reference": reference, "grader": grader,
                                          "config": config}).encode("utf-8")).hexdigest()


def clean_items(items: Any) -> list[dict]:
    """Return the items in stored form (with digests), or raise naming every bad item."""
    if not isinstance(items, list) or not items:
        raise GoldenItemsInvalid("A golden set needs a non-empty list of items.",
                                 [{"index": None, "key": None, "message": "items must be a non-empty list"}])
    if len(items) > MAX_ITEMS:
        raise TooManyItems(f"A golden set holds at most {MAX_ITEMS} items.")
    errors, cleaned, seen = [], [], set()
    for index, raw in enumerate(items):
        key = raw.get("key") if isinstance(raw, dict) else None
        try:
            if not isinstance(raw, dict):
                raise GraderInvalid("an item is a JSON object")
            unknown = set(raw) - _ITEM_FIELDS
            if unknown:
                raise GraderInvalid(f"unknown fields: {', '.join(sorted(unknown))}")
            if not isinstance(key, str) or not SLUG.match(key):
                raise GraderInvalid("'key' must be a slug (lowercase letters, digits, - and _; up to 64)")
            if key in seen:
                raise GraderInvalid(f"duplicate key {key!r}")
            seen.add(key)
            category = raw.get("category", "general")
            if not isinstance(category, str) or not SLUG.match(category):
                raise GraderInvalid("'category' must be a slug")
            messages = _messages(raw)
            reference = raw.get("reference", "")
            grader: Any = raw.get("grader")  # grader_validate refuses anything but a known kind
            config = raw.get("config", {})
            grader_validate(kind=grader, config=config, reference=reference)
        except GraderInvalid as exc:
            errors.append({"index": index, "key": key if isinstance(key, str) else None, "message": str(exc)})
            continue
        cleaned.append({"key": key, "category": category, "messages": messages, "reference": reference,
                        "grader": grader, "config": config,
                        "digest": item_digest(messages=messages, reference=reference, grader=grader, config=config)})
    if errors:
        raise GoldenItemsInvalid(f"{len(errors)} golden item(s) are invalid; nothing was saved.", errors[:100])
    return cleaned


def content_sha256(cleaned: list[dict]) -> str:
    """SHA-256 of a version's items (digests left out: they are derived)."""
    return hashlib.sha256(canonical_json([{k: v for k, v in item.items() if k != "digest"} for item in cleaned])
                          .encode("utf-8")).hexdigest()


def load_builtin(key: str) -> dict:
    """The shipped data of a built-in set: key, title, description and its cleaned items."""
    data = json.loads((BUILTIN_DIR / f"{key}.json").read_text(encoding="utf-8"))
    return {**data, "items": clean_items(data["items"])}

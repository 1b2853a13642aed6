"""Redaction of personal data in prompts and responses at ingest, before a text is stored, digested or embedded.

Each kind is a pattern that finds candidates and, where the identifier has one, a checksum that confirms them
(python-stdnum): a 16-digit order number that fails Luhn, or eleven digits that are no valid fødselsnummer,
stay as they are. Kinds run in a fixed order and each replaces its finds with a placeholder (`[EMAIL]`) that
holds no digits, so a later, looser kind (phone numbers) cannot claim the digits of an earlier, checked one.
Custom patterns run last, through the `regex` module with a time limit: a pattern a person typed must not be
able to stall ingestion, and a text it cannot finish on is refused rather than stored unredacted.
"""
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import regex
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.no import fodselsnummer
from stdnum.se import personnummer
from stdnum.us import ssn as us_ssn


class RedactionKind:
    """The built-in kinds, by the code stored on records and used in policies."""

    EMAIL = "email"
    IBAN = "iban"
    PAYMENT_CARD = "payment_card"
    NO_FODSELSNUMMER = "no_fodselsnummer"
    SE_PERSONNUMMER = "se_personnummer"
    US_SSN = "us_ssn"
    PHONE = "phone"


BUILTIN_KINDS = (RedactionKind.EMAIL, RedactionKind.IBAN, RedactionKind.PAYMENT_CARD, RedactionKind.NO_FODSELSNUMMER,
                 RedactionKind.SE_PERSONNUMMER, RedactionKind.US_SSN, RedactionKind.PHONE)
CUSTOM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_CUSTOM_PATTERNS = 20
MAX_PATTERN_CHARS = 500
# Per text and pattern; a regular pattern needs microseconds on a 100,000-character text.
CUSTOM_PATTERN_TIMEOUT_SECONDS = 0.05


class RedactionTimeout(Exception):
    """A custom pattern did not finish on a text within its time limit."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _placeholder(kind: str) -> str:
    return f"[{kind.upper()}]"


_DIGITS = re.compile(r"\d", re.ASCII)
_DIGIT_BYTES = b"0123456789"
_SEPARATORS = re.compile(r"[ \-.()/+]")
# Every numeric kind needs at least eight digits close together; most texts have none and skip those kinds.
_NUMERIC_CANDIDATE = re.compile(r"\d(?:[ .\-()/]{0,2}\d){7}", re.ASCII)


def _compact(text: str) -> str:
    return _SEPARATORS.sub("", text)


def _shorter_at_separators(text: str) -> Iterable[str]:
    """The text, then its prefixes ending before each separator, longest first (a trailing CVV, a word)."""
    yield text
    for index in range(len(text) - 1, 0, -1):
        if text[index] in " -" and text[index - 1] not in " -":
            yield text[:index]


_CARD_PREFIXES = (
    # (prefix range low, high, allowed lengths): the issuer ranges of ISO/IEC 7812 that cards actually use.
    ("4", "4", (13, 16, 19)), ("51", "55", (16,)), ("2221", "2720", (16,)), ("34", "34", (15,)), ("37", "37", (15,)),
    ("6011", "6011", (16, 17, 18, 19)), ("644", "649", (16, 17, 18, 19)), ("65", "65", (16, 17, 18, 19)),
    ("3528", "3589", (16, 17, 18, 19)), ("36", "36", (14, 15, 16, 17, 18, 19)), ("300", "305", (14, 16, 19)),
    ("38", "39", (14, 16, 19)), ("62", "62", (16, 17, 18, 19)), ("50", "50", (12, 13, 16, 19)),
    ("56", "58", (12, 13, 16, 19)), ("67", "69", (12, 13, 16, 19)),
)


def _valid_card(number: str) -> bool:
    # Luhn alone passes one random digit string in ten; an issuer range and its lengths make an order number or
    # a tracking id a much rarer false hit.
    if not 12 <= len(number) <= 19 or not luhn.is_valid(number):
        return False
    return any(low <= number[:len(low)] <= high and len(number) in lengths for low, high, lengths in _CARD_PREFIXES)


def _valid_phone(number: str) -> bool:
    digits = len(_DIGITS.findall(number))
    if number.startswith("00"):
        # An international prefix, then a country code and a national number: at least nine digits (+47 and
        # eight), written with a space after the prefix or the country code. That keeps "customer number
        # 00136053" and a zero-padded order number what they are.
        return 11 <= digits <= 17 and not number.isdigit()
    if number.startswith("+"):
        return 9 <= digits <= 15
    return 8 <= digits <= 15


def _compile(pattern: str) -> re.Pattern:
    # Identifiers are written in ASCII digits; with re.ASCII, \d and \w are the fast ASCII classes.
    return re.compile(pattern, re.ASCII)


@dataclass(frozen=True)
class _Spec:
    kind: str
    pattern: re.Pattern
    # Confirms a candidate (its text as found); None accepts every match of the pattern.
    check: Callable[[str], bool] | None = None
    # Retry shorter prefixes of a candidate that fails its check (a card number followed by its CVV).
    shrink: bool = False
    numeric: bool = True


_SPECS = (
    _Spec(RedactionKind.EMAIL, _compile(
        r"(?<![\w.%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
        r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}(?![\w-])"), numeric=False),
    _Spec(RedactionKind.IBAN, _compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b"),
          check=lambda text: stdnum_iban.is_valid(_compact(text)), shrink=True),
    _Spec(RedactionKind.PAYMENT_CARD, _compile(r"(?<![\w\-.])(?:\d[ \-]?){11,18}\d(?![\w\-]|\.\d)"),
          check=lambda text: _valid_card(_compact(text)), shrink=True),
    _Spec(RedactionKind.NO_FODSELSNUMMER, _compile(r"(?<![\w\-.])\d{6}[ ]?\d{5}(?![\w\-]|\.\d)"),
          check=lambda text: fodselsnummer.is_valid(_compact(text))),
    _Spec(RedactionKind.SE_PERSONNUMMER, _compile(r"(?<![\w\-.])(?:\d{2})?\d{6}[\-+ ]?\d{4}(?![\w\-]|\.\d)"),
          check=lambda text: personnummer.is_valid(text.replace(" ", "-"))),
    _Spec(RedactionKind.US_SSN, _compile(r"(?<![\w\-.])\d{3}[\- ]\d{2}[\- ]\d{4}(?![\w\-]|\.\d)"),
          check=lambda text: us_ssn.is_valid(text.replace(" ", "-"))),
    _Spec(RedactionKind.PHONE, _compile(
        r"(?<![\w+.\-])(?:"
        # International: +47 912 34 567, 0046 8 123 456 78, +1 (555) 123-4567.
        r"(?:\+|00)[1-9]\d{0,2}(?:[ .\-]?\(?\d{1,4}\)?){2,5}"
        # North American: (555) 123-4567, 555-123-4567, 555.123.4567.
        r"|\(?\d{3}\)?[ .\-]\d{3}[ .\-]\d{4}"
        # Norwegian, grouped as written: 912 34 567, 22 12 34 56.
        r"|[49]\d{2} \d{2} \d{3}|\d{2} \d{2} \d{2} \d{2}"
        # Swedish, with its area code: 070-123 45 67, 08-123 456 78, 0701234567.
        r"|0\d{1,3}[\- ]\d{2,3}(?: \d{2,3}){1,2}|07\d{8}"
        r")(?![\w\-]|\.\d)"
        # After a word that says so, any eight or more digits: tlf. 91234567, phone: 5551234567.
        r"|(?i:(?<=tel[.:] )|(?<=tel: )|(?<=tlf[.:] )|(?<=tlf )|(?<=phone )|(?<=phone: )|(?<=mobil )|(?<=mobile )"
        r"|(?<=mobile: )|(?<=ring )|(?<=call ))\+?\d[\d .\-]{6,16}\d(?![\w\-])"),
        check=_valid_phone),
)


@dataclass(frozen=True)
class CustomPattern:
    """A pattern a use case added, compiled once."""

    name: str
    pattern: "regex.Pattern"


def compile_custom_pattern(name: str, pattern: str) -> CustomPattern:
    """Compile one custom pattern or raise ValueError saying why it cannot be used."""
    if not isinstance(name, str) or not CUSTOM_NAME.match(name):
        raise ValueError("A custom pattern's name is 1-40 lowercase letters, digits or underscores, starting with a "
                         "letter.")
    if name in BUILTIN_KINDS:
        raise ValueError(f"{name!r} is the name of a built-in kind.")
    if not isinstance(pattern, str) or not pattern.strip():
        raise ValueError("A custom pattern must be a non-empty string.")
    if len(pattern) > MAX_PATTERN_CHARS:
        raise ValueError(f"A custom pattern may have at most {MAX_PATTERN_CHARS} characters.")
    try:
        compiled = regex.compile(pattern, regex.V0)
    except regex.error as exc:
        raise ValueError(f"{pattern[:80]!r} is not a valid regular expression: {exc}.") from None
    if compiled.search("", timeout=CUSTOM_PATTERN_TIMEOUT_SECONDS) is not None:
        raise ValueError(f"{pattern[:80]!r} matches the empty string, so it would redact nothing but mark every text.")
    return CustomPattern(name=name, pattern=compiled)


def _digit_count(text: str) -> int:
    data = text.encode("utf-8", "surrogatepass")
    return len(data) - len(data.translate(None, _DIGIT_BYTES))


class Redactor:
    """Redacts the enabled kinds and custom patterns of one use case's policy."""

    def __init__(self, *, kinds: Iterable[str] = BUILTIN_KINDS, custom: Iterable[CustomPattern] = ()) -> None:
        enabled = set(kinds)
        unknown = enabled - set(BUILTIN_KINDS)
        if unknown:
            raise ValueError(f"Unknown redaction kinds: {', '.join(sorted(unknown))}.")
        self._specs = tuple(spec for spec in _SPECS if spec.kind in enabled)
        self._numeric_specs = tuple(spec for spec in self._specs if spec.numeric)
        self._email_spec = next((spec for spec in self._specs if not spec.numeric), None)
        self._custom = tuple(custom)

    @property
    def enabled(self) -> bool:
        """Whether any kind or pattern is on."""
        return bool(self._specs or self._custom)

    def redact(self, text: str, counts: dict[str, int]) -> str:
        """Return the text with every find replaced by its kind's placeholder; add the finds to `counts`."""
        if not text:
            return text
        # Most prose has fewer than eight digits (or none close together) and skips the numeric kinds without a
        # regex: the digits are counted in one C pass over the UTF-8 bytes (an ASCII digit is one byte there, and
        # no byte of a longer character is one), half the time of ten str.count scans. surrogatepass: any str
        # encodes, and the count is the same.
        if (self._numeric_specs and _digit_count(text) >= 8 and _NUMERIC_CANDIDATE.search(text)):
            specs = self._specs if self._email_spec is not None and "@" in text else self._numeric_specs
        elif self._email_spec is not None and "@" in text:
            specs = (self._email_spec,)
        else:
            specs = ()
        for spec in specs:
            text = spec.pattern.sub(functools.partial(self._replace, spec, counts=counts), text)
        for custom in self._custom:
            text = self._custom_sub(custom, text, counts)
        return text

    @staticmethod
    def _replace(spec: _Spec, match: re.Match, counts: dict[str, int]) -> str:
        found = match.group(0)
        if spec.check is None:
            counts[spec.kind] = counts.get(spec.kind, 0) + 1
            return _placeholder(spec.kind)
        for candidate in (_shorter_at_separators(found) if spec.shrink else (found,)):
            if spec.check(candidate):
                counts[spec.kind] = counts.get(spec.kind, 0) + 1
                return _placeholder(spec.kind) + found[len(candidate):]
        return found

    @staticmethod
    def _custom_sub(custom: CustomPattern, text: str, counts: dict[str, int]) -> str:
        try:
            result, found = custom.pattern.subn(_placeholder(custom.name), text,
                                                timeout=CUSTOM_PATTERN_TIMEOUT_SECONDS)
        except TimeoutError:
            raise RedactionTimeout(custom.name) from None
        if found:
            counts[custom.name] = counts.get(custom.name, 0) + found
        return result


DEFAULT_REDACTOR = Redactor()

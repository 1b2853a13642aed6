"""Real-looking traffic with personal data of known position, and look-alikes that are not personal data.

Identifiers are generated valid (checksums computed, not copied from a list), in the ways people write them:
grouped, compact, with dashes; the sentences around them are customer-support prompts in English, Norwegian
and Swedish. The look-alikes are what such traffic is full of and must survive: order and tracking numbers,
invoice ids, amounts, dates and times, versions, IP addresses, UUIDs, ISBNs, and identifiers one digit off.
"""
import random
import string
from dataclasses import dataclass
from datetime import date, timedelta

from stdnum import iban, luhn
from stdnum.no import fodselsnummer
from stdnum.us import ssn


@dataclass(frozen=True)
class Planted:
    """A text and the personal data planted in it, as (kind, exact substring)."""

    text: str
    items: tuple[tuple[str, str], ...]


FIRST = ["Kari", "Ola", "Ingrid", "Lars", "Astrid", "Erik", "Maja", "Johan", "Emily", "James", "Priya", "Wei",
         "Sofia", "Mohammed", "Anna", "Nils"]
LAST = ["Nordmann", "Hansen", "Johansson", "Lindqvist", "Berg", "Smith", "Garcia", "Patel", "Olsen", "Nilsson",
        "O'Brien", "Dahl"]
DOMAINS = ["example.com", "mail.example.no", "firma.se", "uni-oslo.example.org", "gmail.com", "outlook.com",
           "bank.co.uk", "kommune.no"]

TEMPLATES = {
    "email": ["Please send the receipt to {} instead of my old address.",
              "Hei, kan dere sende fakturaen til {}? Takk!",
              "Min e-post är {} om ni behöver nå mig.",
              "Contact: {}. I have been waiting for three days."],
    "iban": ["I want the refund paid to IBAN {} please.",
             "Kontoen min er {}, kan dere overføre beløpet dit?",
             "Betala tillbaka till {} så snart som möjligt.",
             "Wire 1,250.00 EUR to {} (reference 2026-11)."],
    "payment_card": ["My card {} was charged twice on 24 November.",
                     "Kortet {} ble belastet to ganger.",
                     "Why was card number {} declined at checkout?",
                     "Card {} exp 09/28 keeps failing, what is wrong?"],
    "no_fodselsnummer": ["Fødselsnummeret mitt er {} og jeg trenger en kopi av kontrakten.",
                         "My Norwegian national id is {}, can you look up my policy?",
                         "Fnr: {}. Søknad om forsikring sendt i går."],
    "se_personnummer": ["Mitt personnummer är {} och jag vill ändra min adress.",
                        "Swedish personal number {} — please update my record.",
                        "Pnr {}, jag har inte fått mitt kort."],
    "us_ssn": ["My SSN is {} and the form keeps rejecting it.",
               "Social security number: {}. Please verify my identity.",
               "For the tax form I entered {} but it says invalid."],
    "phone": ["Call me back on {} after 5 pm.",
              "Ring meg på {} i morgen formiddag.",
              "Mitt nummer är {} om det är något.",
              "You can reach me at {} any time."],
}


def _fodselsnummer(rng: random.Random) -> str:
    while True:
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))
        individual = rng.randrange(0, 500) if born.year < 2000 else rng.randrange(500, 1000)
        base = f"{born:%d%m%y}{individual:03d}"
        first = fodselsnummer.calc_check_digit1(base)
        second = fodselsnummer.calc_check_digit2(base + first)
        number = base + first + second
        if len(number) == 11 and fodselsnummer.is_valid(number):
            return number if rng.random() < 0.7 else f"{number[:6]} {number[6:]}"


def _personnummer(rng: random.Random) -> str:
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 65))
    base = f"{born:%y%m%d}{rng.randrange(1000):03d}"
    number = base + luhn.calc_check_digit(base)
    style = rng.randrange(3)
    if style == 0:
        return f"{number[:6]}-{number[6:]}"
    if style == 1:
        return f"{born.year // 100}{number[:6]}-{number[6:]}"
    return f"{born.year // 100}{number}"


def _iban(rng: random.Random) -> str:
    while True:
        number = _iban_candidate(rng)
        # Some countries' account numbers carry a check digit of their own, which stdnum also checks.
        if iban.is_valid(number):
            break
    if rng.random() < 0.6:
        return " ".join(number[i:i + 4] for i in range(0, len(number), 4))
    return number


def _iban_candidate(rng: random.Random) -> str:
    country, bban_digits = rng.choice([("NO", 11), ("SE", 20), ("DE", 18), ("FI", 14), ("DK", 14), ("NL", None),
                                       ("GB", None), ("FR", 23)])
    if country == "NL":
        bban = rng.choice(["ABNA", "INGB", "RABO"]) + "".join(rng.choices(string.digits, k=10))
    elif country == "GB":
        bban = rng.choice(["WEST", "BARC", "NWBK"]) + "".join(rng.choices(string.digits, k=14))
    else:
        bban = "".join(rng.choices(string.digits, k=bban_digits))
    return country + iban.calc_check_digits(country + "00" + bban) + bban


def _card(rng: random.Random) -> str:
    prefix, length = rng.choice([("4", 16), ("51", 16), ("55", 16), ("2221", 16), ("34", 15), ("37", 15),
                                 ("6011", 16), ("4", 13)])
    body = prefix + "".join(rng.choices(string.digits, k=length - len(prefix) - 1))
    number = body + luhn.calc_check_digit(body)
    style = rng.randrange(3)
    if style == 0 and length == 16:
        return " ".join(number[i:i + 4] for i in range(0, 16, 4))
    if style == 1 and length == 16:
        return "-".join(number[i:i + 4] for i in range(0, 16, 4))
    return number


def _ssn(rng: random.Random) -> str:
    while True:
        number = f"{rng.randrange(1, 900):03d}-{rng.randrange(1, 100):02d}-{rng.randrange(1, 10000):04d}"
        if ssn.is_valid(number):
            return number


def _phone(rng: random.Random) -> str:
    digits = lambda k: "".join(rng.choices(string.digits, k=k))  # noqa: E731
    return rng.choice([
        lambda: f"+47 {rng.choice('49')}{digits(2)} {digits(2)} {digits(3)}",
        lambda: f"+47{rng.choice('49')}{digits(7)}",
        lambda: f"{rng.choice('49')}{digits(2)} {digits(2)} {digits(3)}",
        lambda: f"22 {digits(2)} {digits(2)} {digits(2)}",
        lambda: f"+46 70 {digits(3)} {digits(2)} {digits(2)}",
        lambda: f"070-{digits(3)} {digits(2)} {digits(2)}",
        lambda: f"08-{digits(3)} {digits(3)} {digits(2)}",
        lambda: f"+1 ({rng.randrange(200, 999)}) {digits(3)}-{digits(4)}",
        lambda: f"({rng.randrange(200, 999)}) {digits(3)}-{digits(4)}",
        lambda: f"{rng.randrange(200, 999)}-{digits(3)}-{digits(4)}",
        lambda: f"+44 20 {digits(4)} {digits(4)}",
        lambda: f"0047 {rng.choice('49')}{digits(7)}",
    ])()


def _email(rng: random.Random) -> str:
    first, last = rng.choice(FIRST).lower(), rng.choice(LAST).lower().replace("'", "")
    local = rng.choice([f"{first}.{last}", f"{first}{rng.randrange(100)}", f"{first[0]}{last}", f"{first}+shop"])
    return f"{local}@{rng.choice(DOMAINS)}"


GENERATORS = {"email": _email, "iban": _iban, "payment_card": _card, "no_fodselsnummer": _fodselsnummer,
              "se_personnummer": _personnummer, "us_ssn": _ssn, "phone": _phone}


def planted_texts(n: int, *, seed: int) -> list[Planted]:
    """Return n prompts, each with one to three pieces of personal data of random kinds."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        parts, items = [f"Hi, this is {rng.choice(FIRST)} {rng.choice(LAST)}."], []
        for _ in range(rng.randint(1, 3)):
            kind = rng.choice(list(GENERATORS))
            value = GENERATORS[kind](rng)
            parts.append(rng.choice(TEMPLATES[kind]).format(value))
            items.append((kind, value))
        texts.append(Planted(text=" ".join(parts), items=tuple(items)))
    return texts


def _off_by_one(number: str, rng: random.Random, is_valid) -> str:
    """Change one digit so the checksum fails."""
    while True:
        position = rng.choice([i for i, c in enumerate(number) if c.isdigit()])
        changed = number[:position] + str((int(number[position]) + rng.randrange(1, 10)) % 10) + number[position + 1:]
        if not is_valid(changed):
            return changed


def lookalike_texts(n: int, *, seed: int) -> list[str]:
    """Return n support prompts full of numbers that are not personal data."""
    rng = random.Random(seed)
    digits = lambda k: "".join(rng.choices(string.digits, k=k))  # noqa: E731
    makers = [
        lambda: f"My order number is {digits(16)} and it has not arrived.",
        lambda: f"Tracking id {rng.choice(['JJD', 'LX', 'RR'])}{digits(12)}NO shows no movement since Monday.",
        lambda: f"Invoice INV-2026-{digits(6)} of {rng.randrange(100, 99999)} kr is wrong.",
        lambda: f"The total was {rng.randrange(1, 99)} {digits(3)} {digits(3)} kr for the renovation.",
        lambda: f"It happened on 2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d} at "
                f"{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}.",
        lambda: f"Timestamp 2026-11-24T09:{rng.randrange(60):02d}:44Z in the log, request id {digits(10)}.",
        lambda: f"We run version {rng.randrange(1, 20)}.{rng.randrange(30)}.{rng.randrange(20000)} on Windows "
                f"10.0.{digits(5)}.{digits(4)}.",
        lambda: f"The server at 10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)} times out.",
        lambda: f"Session {rng.getrandbits(128):032x} expired after {rng.randrange(5, 90)} minutes.",
        lambda: f"The book ISBN 978-{digits(2)}-{digits(3)}-{digits(4)}-{digits(1)} is out of stock.",
        lambda: f"Customer number {digits(8)}, contract {digits(7)}, case {digits(9)}.",
        lambda: f"Card ending in {digits(4)} was charged {rng.randrange(10, 999)},{digits(2)} NOK.",
        lambda: "The card number " + _off_by_one(_card(rng).replace(" ", "").replace("-", ""), rng,
                                                  _card_ok) + " from the letter does not work.",
        lambda: "Is " + _off_by_one(_fodselsnummer(rng).replace(" ", ""), rng, fodselsnummer.is_valid)
                + " a valid reference for the claim?",
        lambda: "Account " + _off_by_one(_iban(rng).replace(" ", ""), rng, iban.is_valid) + " was rejected.",
        lambda: f"Between {rng.randrange(1990, 2026)} and {rng.randrange(1990, 2026)} we had "
                f"{rng.randrange(1000, 99999)} users and {digits(6)} sessions.",
        lambda: f"Coordinates 59.{digits(6)}, 10.{digits(6)} are near the office.",
        lambda: f"Error code 0x{rng.getrandbits(32):08X} at offset {digits(7)}.",
    ]
    return [rng.choice(makers)() for _ in range(n)]


def _card_ok(number: str) -> bool:
    return luhn.is_valid(number)

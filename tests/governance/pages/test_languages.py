"""English, Norwegian Bokmål and Swedish pages: complete catalogues, compiled ones that match, localised output."""
import ast
import gettext
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.utils.translation.template import templatize

from governance.services.gates import gate_open, gate_request_decision
from governance.services.inventory import effect_goal_create, effect_measurement_record
from governance.templates_data import messages
from scripts.checklist_messages import checklist_strings, render
from tests.governance.gates_setup import complete_required_items, make_team

LOCALE = Path(settings.BASE_DIR) / "locale"
# The monitoring, alert, report and audit-log pages' catalogue; Django merges it under the project's.
MONITORING_LOCALE = Path(settings.BASE_DIR) / "monitoring" / "locale"
_ENTRY = re.compile(r'(?:^msgctxt "(?P<ctx>.*)"\n)?^msgid (?P<id>(?:".*"\n)+)(?:^msgid_plural (?P<plural>(?:".*"\n)+))?'
                    r'(?P<strs>(?:^msgstr(?:\[\d\])? (?:".*"\n?)+)+)', re.M)


def _join(block: str) -> str:
    return "".join(re.findall(r'"(.*)"', block)).encode().decode("unicode_escape").encode("latin-1").decode()


def catalogue(language: str, locale: Path = LOCALE) -> dict[tuple[str | None, str], list[str]]:
    """Parse a .po file: (context, msgid) -> the msgstr forms."""
    text = (locale / language / "LC_MESSAGES" / "django.po").read_text()
    assert "#, fuzzy" not in text.split("\n\n", 1)[1], f"{language} has fuzzy entries"
    entries = {}
    for match in _ENTRY.finditer(text):
        msgid = _join(match["id"])
        if not msgid:
            continue
        forms = [_join(block) for block in re.split(r"^msgstr(?:\[\d\])? ", match["strs"], flags=re.M)[1:]]
        entries[(match["ctx"], msgid)] = forms
    return entries


@pytest.mark.parametrize("language", ["nb", "sv"])
def test_every_page_string_is_translated(language):
    entries = catalogue(language)

    untranslated = [msgid for (ctx, msgid), forms in entries.items()
                    if ctx != "checklist" and not all(form.strip() for form in forms)]

    assert len(entries) > 300
    assert untranslated == []



@pytest.mark.parametrize("locale", [LOCALE, MONITORING_LOCALE], ids=["project", "monitoring"])
@pytest.mark.parametrize("language", ["nb", "sv"])
def test_no_translation_is_its_own_text_repeated(language, locale):
    # 117 translations once stood four or five times in a row in the catalogue, and the pages showed them so.
    repeated = [msgid for (ctx, msgid), forms in catalogue(language, locale).items()
                if any(re.fullmatch(r"(.{4,}?)\1+", form, re.S) for form in forms)]

    assert repeated == []

def test_the_built_in_checklists_exist_in_norwegian_bokmal():
    entries = catalogue("nb")

    missing = [text for text in checklist_strings() if not entries.get(("checklist", text), [""])[0].strip()]

    assert missing == []


def test_the_checklist_messages_module_is_generated_from_the_templates():
    assert Path(messages.__file__).read_text() == render()


@pytest.mark.parametrize("language", ["nb", "sv"])
def test_the_committed_compiled_catalogue_matches_its_source(language):
    with open(LOCALE / language / "LC_MESSAGES" / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)

    for (ctx, msgid), forms in catalogue(language).items():
        if not forms[0]:
            continue
        if len(forms) == 1:
            got = compiled.pgettext(ctx, msgid) if ctx else compiled.gettext(msgid)
            assert got == forms[0], msgid


@pytest.fixture
def team_with_goal(db):
    team = make_team()
    goal = effect_goal_create(actor=team.actor("product_owner"), use_case=team.use_case, metric="csat", target=4.25)
    effect_measurement_record(actor=team.actor("product_owner"), goal=goal, value=4.5)
    return team


@pytest.mark.parametrize(("language", "heading", "number"), [("en", "Effect goals", "4.25"),
                                                             ("nb", "Effektmål", "4,25"),
                                                             ("sv", "Effektmål", "4,25")])
def test_the_use_case_page_speaks_the_chosen_language_with_local_numbers(team_with_goal, language, heading, number):
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(team_with_goal.product_owner)

    page = client.get(f"/use-cases/{team_with_goal.use_case.slug}/").content.decode()

    assert f'<html lang="{language}">' in page
    assert f">{heading}</h2>" in page
    assert number in page


def test_the_language_switcher_keeps_the_choice_and_returns_to_the_page(team_with_goal):
    client = Client()
    client.force_login(team_with_goal.product_owner)

    response = client.post("/i18n/setlang/", {"language": "sv", "next": "/obligations/"})

    assert response.status_code == 302 and response["Location"] == "/obligations/"
    assert ">Mina åtaganden</h1>" in client.get("/obligations/").content.decode()


class _Headings(HTMLParser):
    """Collect the text of a page's title, headings, captions, table headers and buttons (not the stored subjects
    that inbox entries show as link buttons)."""

    TAGS = {"title", "h1", "h2", "h3", "h4", "caption", "th", "button", "a"}

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._open: list[list[str] | None] = []

    def handle_starttag(self, tag, attrs):
        if tag not in self.TAGS:
            return
        classes = (dict(attrs).get("class") or "").split()
        collect = ("link-button" not in classes) if tag == "button" else ("button" in classes) if tag == "a" else True
        self._open.append([] if collect else None)

    def handle_endtag(self, tag):
        if tag in self.TAGS and self._open:
            parts = self._open.pop()
            if parts is not None and " ".join("".join(parts).split()):
                self.texts.append(" ".join("".join(parts).split()))

    def handle_data(self, data):
        for parts in self._open:
            if parts is not None:
                parts.append(data)


def headings(page: str) -> list[str]:
    """Return the page's title, headings, captions, table headers and button labels, in order."""
    parser = _Headings()
    parser.feed(page)
    return parser.texts


def _english_left(client_for, url: str, language: str) -> tuple[list[str], list[str]]:
    """Render the page in English and in the language; return its headings and those that stayed English."""
    english = set(headings(client_for("en").get(url).content.decode()))
    translated = headings(client_for(language).get(url).content.decode())
    return translated, [text for text in translated if text in english]


@pytest.fixture
def inbox_reader(db, django_capture_on_commit_callbacks):
    """A reviewer with an unread notification: a gate waits for their decision."""
    team = make_team()
    gate = gate_open(actor=team.actor("product_owner"), use_case=team.use_case, number=1)
    complete_required_items(team, gate)
    with django_capture_on_commit_callbacks(execute=True):
        gate_request_decision(actor=team.actor("product_owner"), gate=gate)
    return team.reviewer


@pytest.mark.parametrize(("language", "title"), [("nb", "Varslinger"), ("sv", "Aviseringar")])
def test_the_notification_inbox_has_no_english_heading_or_button_left(inbox_reader, language, title):
    def client_for(code):
        client = Client(HTTP_ACCEPT_LANGUAGE=code)
        client.force_login(inbox_reader)
        return client

    translated, english_left = _english_left(client_for, "/notifications/", language)

    assert f"{title} · Driftgate" in translated and title in translated
    assert english_left == []


@pytest.mark.parametrize(("language", "button"), [("nb", "Logg inn med felles innlogging"),
                                                  ("sv", "Logga in med gemensam inloggning")])
def test_the_sign_in_page_with_single_sign_on_has_no_english_heading_or_button_left(db, settings, language, button):
    settings.DRIFTGATE_OIDC_ENABLED = True
    settings.DRIFTGATE_OIDC_PROVIDER_NAME = ""

    translated, english_left = _english_left(lambda code: Client(HTTP_ACCEPT_LANGUAGE=code), "/accounts/login/",
                                             language)

    assert button in translated
    assert english_left == []


def test_a_configured_provider_name_is_kept_as_it_is_named(db, settings):
    settings.DRIFTGATE_OIDC_ENABLED = True
    settings.DRIFTGATE_OIDC_PROVIDER_NAME = "Entra ID"

    page = Client(HTTP_ACCEPT_LANGUAGE="nb").get("/accounts/login/").content.decode()

    assert "Logg inn med Entra ID" in headings(page)



_CALLS = {"_": (None, 0), "gettext": (None, 0), "gettext_lazy": (None, 0), "ngettext": (None, 0),
          "ngettext_lazy": (None, 0), "pgettext": (0, 1), "pgettext_lazy": (0, 1), "npgettext": (0, 1),
          "npgettext_lazy": (0, 1)}
_TEMPLATE_CALL = re.compile(r"\b(gettext|ngettext|pgettext|npgettext)\(((?:u'(?:[^'\\]|\\.)*'(?:, )?)+)")
_LITERAL = re.compile(r"u('(?:[^'\\]|\\.)*')")


def _python_messages(path: Path) -> set[tuple[str | None, str]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Call):
            continue
        name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
        if name not in _CALLS:
            continue
        ctx_at, id_at = _CALLS[name]
        args = [arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None for arg in node.args]
        if len(args) > id_at and args[id_at] is not None:
            found.add((args[ctx_at] if ctx_at is not None else None, args[id_at]))
    return found


def _template_messages(path: Path) -> set[tuple[str | None, str]]:
    found = set()
    for function, arguments in _TEMPLATE_CALL.findall(templatize(path.read_text(), origin=str(path))):
        strings = [ast.literal_eval(literal) for literal in _LITERAL.findall(arguments)]
        found.add((strings[0], strings[1]) if function.startswith(("p", "np")) else (None, strings[0]))
    return found


def source_messages() -> set[tuple[str | None, str]]:
    """Every literal message the pages' Python and templates mark for translation (what makemessages extracts)."""
    root = Path(settings.BASE_DIR)
    found = set()
    for package in ["driftgate", "governance", "monitoring", "reports"]:
        for path in (root / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found |= _python_messages(path)
    for path in (root / "templates").rglob("*.html"):
        found |= _template_messages(path)
    return {(ctx, msgid) for ctx, msgid in found if msgid and ctx != "checklist"}


@pytest.mark.parametrize("language", ["nb", "sv"])
def test_every_string_marked_in_the_sources_has_a_translation_in_a_catalogue(language):
    translated = {key for key, forms in {**catalogue(language, MONITORING_LOCALE), **catalogue(language)}.items()
                  if all(form.strip() for form in forms)}

    missing = sorted(msgid for ctx, msgid in source_messages() - translated)

    assert len(source_messages()) > 600
    assert missing == []

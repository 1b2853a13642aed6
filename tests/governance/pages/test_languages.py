"""English, Norwegian Bokmål and Swedish pages: complete catalogues, compiled ones that match, localised output."""
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from governance.services.inventory import effect_goal_create, effect_measurement_record
from governance.templates_data import messages
from scripts.checklist_messages import checklist_strings, render
from tests.governance.gates_setup import make_team

LOCALE = Path(settings.BASE_DIR) / "locale"
_ENTRY = re.compile(r'(?:^msgctxt "(?P<ctx>.*)"\n)?^msgid (?P<id>(?:".*"\n)+)(?:^msgid_plural (?P<plural>(?:".*"\n)+))?'
                    r'(?P<strs>(?:^msgstr(?:\[\d\])? (?:".*"\n?)+)+)', re.M)


def _join(block: str) -> str:
    return "".join(re.findall(r'"(.*)"', block)).encode().decode("unicode_escape").encode("latin-1").decode()


def catalogue(language: str) -> dict[tuple[str | None, str], list[str]]:
    """Parse a .po file: (context, msgid) -> the msgstr forms."""
    text = (LOCALE / language / "LC_MESSAGES" / "django.po").read_text()
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

"""Signing in, out and changing the password in a real browser, for people who are not staff."""
import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_person_without_staff_signs_in_and_lands_where_they_were_going(page, make_user, use_case, grant, axe):
    ana = make_user("ana", first_name="Ana", last_name="Berg")
    grant(ana, use_case, "product_owner")

    page.goto(f"/use-cases/{use_case.slug}/")
    assert "/accounts/login/" in page.url
    axe(page)
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(f"**/use-cases/{use_case.slug}/")
    assert page.get_by_role("heading", level=1).inner_text().startswith(use_case.name)
    assert page.get_by_role("navigation", name="My use cases").get_by_role("link", name=use_case.name).is_visible()
    axe(page)


def test_a_wrong_password_is_refused_beside_the_form(page, make_user, axe):
    make_user("ben")

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("ben")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()

    assert page.get_by_role("alert").is_visible()
    assert "/accounts/login/" in page.url
    axe(page)


def test_signing_out_ends_the_session(page, make_user, login):
    login(page, make_user("cai"))

    page.get_by_role("button", name="Sign out").click()

    page.goto("/")
    assert "/accounts/login/" in page.url


def test_a_person_changes_their_password_and_signs_in_with_the_new_one(page, make_user, login, axe):
    dana = make_user("dana")
    login(page, dana)
    page.get_by_role("link", name="Password").click()
    axe(page)

    page.get_by_label("Old password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill("a much longer new secret 42")
    page.get_by_label("New password confirmation").fill("a much longer new secret 42")
    page.get_by_role("button", name="Change password").click()

    assert page.get_by_role("heading", name="Password changed").is_visible()
    dana.refresh_from_db()
    assert dana.check_password("a much longer new secret 42")

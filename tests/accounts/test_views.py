import pytest
from django.urls import reverse

from synthgov.accounts.models import Membership, Role
from synthgov.trail.models import Event
from synthgov.trail.services import trail_verify
from tests.factories import PASSWORD


def login(client, user, password=PASSWORD):
    return client.post(reverse("login"), {"username": user.username, "password": password})


def test_login_is_recorded_and_lands_on_home(client, world):
    response = login(client, world.curator_a)
    assert response.status_code == 302
    assert response.url == reverse("home")
    event = Event.objects.get(action="accounts.login.succeeded")
    assert event.actor == world.curator_a
    assert event.organisation == world.org_a


def test_failed_login_is_counted_not_written_to_the_trail(client, world):
    # One row per guess would let a script grow the trail without limit; the
    # lockout is what reaches it (tests/access/test_lockout.py).
    response = login(client, world.curator_a, password="wrong password")
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert not Event.objects.filter(action__startswith="accounts.login").exists()


def test_logout_is_recorded(client, world):
    login(client, world.curator_a)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert Event.objects.filter(action="accounts.logout", actor=world.curator_a).exists()
    assert client.get(reverse("home")).status_code == 302
    assert trail_verify().ok


def test_home_requires_login(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("who", "heading", "organisation"),
    [
        ("curator_a", "Curator", "Alpha Synthetics"),
        ("officer_a", "Compliance officer", "Alpha Synthetics"),
        ("regulator", "Regulator", "EU Regulator"),
        ("admin_a", "Administrator", "Alpha Synthetics"),
    ],
)
def test_home_fits_the_role(client, world, who, heading, organisation):
    client.force_login(getattr(world, who))
    page = client.get(reverse("home")).content.decode()
    assert f"<h2>{heading}</h2>" in page
    assert organisation in page


def test_home_without_role_says_what_to_do(client, world):
    client.force_login(world.outsider)
    page = client.get(reverse("home")).content.decode()
    assert "Ask an administrator" in page


def test_navigation_shows_only_what_the_role_may_use(client, world):
    client.force_login(world.curator_a)
    page = client.get(reverse("home")).content.decode()
    assert reverse("trail:list") not in page
    assert reverse("admin:index") not in page
    client.force_login(world.officer_a)
    assert reverse("trail:list") in client.get(reverse("home")).content.decode()
    client.force_login(world.admin_a)
    assert reverse("admin:index") in client.get(reverse("home")).content.decode()


def test_trail_page_is_denied_to_curators_and_scoped_for_officers(client, world):
    from synthgov.trail.services import trail_record

    trail_record(actor=world.curator_a, action="tests.mine", organisation=world.org_a)
    trail_record(actor=world.curator_b, action="tests.theirs", organisation=world.org_b)
    client.force_login(world.curator_a)
    assert client.get(reverse("trail:list")).status_code == 403
    client.force_login(world.officer_a)
    page = client.get(reverse("trail:list")).content.decode()
    assert "tests.mine" in page
    assert "tests.theirs" not in page


def test_password_change(client, world):
    client.force_login(world.curator_a)
    response = client.post(
        reverse("password_change"),
        {
            "old_password": PASSWORD,
            "new_password1": "a much longer new passphrase",
            "new_password2": "a much longer new passphrase",
        },
    )
    assert response.status_code == 302
    world.curator_a.refresh_from_db()
    assert world.curator_a.check_password("a much longer new passphrase")


def test_admin_role_change_is_recorded(client, world):
    client.force_login(world.admin_a)
    response = client.post(
        reverse("admin:accounts_membership_add"),
        {"user": world.outsider.pk, "organisation": world.org_a.pk, "role": Role.CURATOR},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    membership = Membership.objects.get(user=world.outsider)
    event = Event.objects.get(action="accounts.role.granted")
    assert event.actor == world.admin_a
    assert event.payload == {"user": "outsider", "role": "curator"}
    response = client.post(
        reverse("admin:accounts_membership_delete", args=[membership.pk]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert Event.objects.filter(action="accounts.role.revoked").exists()
    assert trail_verify().ok


def test_admin_login_goes_through_the_recorded_sign_in(client, db):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response.url == "/accounts/login/?next=/admin/"


def test_trail_rows_cannot_be_changed_in_admin(client, world):
    from synthgov.trail.services import trail_record

    event = trail_record(actor=world.curator_a, action="tests.x")
    client.force_login(world.admin_a)
    response = client.post(reverse("admin:trail_event_delete", args=[event.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert Event.objects.filter(pk=event.pk).exists()

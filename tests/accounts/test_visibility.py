import pytest

from salesdesk.accounts import visibility
from salesdesk.accounts.models import Team, User
from salesdesk.crm.models import Company
from tests.factories import CompanyFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def companies(cast):
    return {
        "admin": CompanyFactory(name="Admin's", owner=cast.admin),
        "manager": CompanyFactory(name="Manager's", owner=cast.manager),
        "alice": CompanyFactory(name="Alice's", owner=cast.alice),
        "bob": CompanyFactory(name="Bob's", owner=cast.bob),
        "carol": CompanyFactory(name="Carol's", owner=cast.carol),
        "outsider": CompanyFactory(name="Outsider's", owner=cast.outsider),
        "pool": CompanyFactory(name="Pool", owner=None),
    }


EXPECTED = {
    "admin": {"admin", "manager", "alice", "bob", "carol", "outsider", "pool"},
    "manager": {"manager", "alice", "bob", "pool"},
    "alice": {"alice", "pool"},
    "bob": {"bob", "pool"},
    "carol": {"carol", "pool"},
    "outsider": {"outsider", "pool"},
}


@pytest.mark.parametrize("who", sorted(EXPECTED))
def test_each_role_sees_exactly_its_companies(cast, companies, who):
    user = getattr(cast, who)
    seen = set(visibility.scope(user, Company.objects.all()).values_list("pk", flat=True))
    assert seen == {companies[key].pk for key in EXPECTED[who]}


@pytest.mark.parametrize("who", ["alice", "carol", "outsider", "manager"])
def test_reps_see_all_lets_everyone_read_but_not_change(cast, companies, org, who):
    org.reps_see_all = True
    org.save()
    user = getattr(cast, who)
    seen = set(visibility.scope(user, Company.objects.all()).values_list("pk", flat=True))
    changeable = set(
        visibility.scope(user, Company.objects.all(), for_change=True).values_list("pk", flat=True)
    )
    assert seen == {c.pk for c in companies.values()}
    assert changeable == {companies[key].pk for key in EXPECTED[who]}


def test_inactive_user_sees_nothing(cast, companies):
    cast.alice.is_active = False
    cast.alice.save()
    assert not visibility.scope(cast.alice, Company.objects.all()).exists()


def test_manager_may_assign_only_within_managed_team(cast):
    assert visibility.can_assign_to(cast.manager, cast.alice)
    assert not visibility.can_assign_to(cast.manager, cast.carol)
    assert not visibility.can_assign_to(cast.alice, cast.bob)
    assert visibility.can_assign_to(cast.alice, cast.alice)
    assert visibility.can_assign_to(cast.admin, cast.carol)


# --- People's numbers: goals, reviews, team dashboards ---------------------------------------


def test_who_is_reviewed_by_whom(cast):
    def reviewed(user):
        return set(
            User.objects.filter(visibility.reviewed_by(user)).values_list("email", flat=True)
        )

    everyone = {user.email for user in cast.all()}
    assert reviewed(cast.admin) == everyone - {cast.admin.email}
    assert reviewed(cast.manager) == {cast.alice.email, cast.bob.email}
    assert reviewed(cast.alice) == reviewed(cast.outsider) == set()


def test_team_dashboards_open_by_role_and_reps_read_their_own_row(cast, org):
    def teams(user):
        return set(
            Team.objects.filter(visibility.dashboard_team_scope(user)).values_list(
                "name", flat=True
            )
        )

    def rows(user):
        return set(
            User.objects.filter(visibility.dashboard_member_scope(user)).values_list(
                "email", flat=True
            )
        )

    everyone = {user.email for user in cast.all()}
    assert teams(cast.admin) == {"East", "West"}
    assert teams(cast.manager) == teams(cast.alice) == {"East"}
    assert teams(cast.carol) == {"West"}
    assert teams(cast.outsider) == set()
    assert rows(cast.manager) == rows(cast.admin) == everyone
    assert rows(cast.alice) == {cast.alice.email}

    org.reps_see_all = True
    org.save()
    bob = User.objects.get(pk=cast.bob.pk)  # a fresh object: visibility caches per user object
    assert teams(bob) == {"East", "West"}
    assert rows(bob) == everyone

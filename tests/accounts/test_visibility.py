import pytest

from salesdesk.accounts import visibility
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

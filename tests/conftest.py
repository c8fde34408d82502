"""Shared fixtures: the fixed cast of users for permission tests, a pipeline, API clients."""

from dataclasses import dataclass

import pytest
from django.test import Client

from salesdesk.accounts.models import OrganizationSettings, Role, User
from salesdesk.accounts.services import api_token_create
from tests.factories import PipelineFactory, StageFactory, TeamFactory, UserFactory


@pytest.fixture(autouse=True)
def _plain_static_storage(settings):
    """Tests render templates without running collectstatic first."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.HUEY = {**settings.HUEY, "immediate": True}
    # Argon2 is deliberately slow; tests that check the production hasher read settings.py.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True, scope="session")
def _immediate_huey():
    """Tasks run at once, in the test: djhuey built its Huey when imported, so settings.HUEY
    above does not reach it."""
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True


@dataclass
class Cast:
    """An admin, a manager of team East, two reps in East, a rep in West, an outsider."""

    admin: User
    manager: User
    alice: User
    bob: User
    carol: User
    outsider: User

    def all(self) -> list[User]:
        return [self.admin, self.manager, self.alice, self.bob, self.carol, self.outsider]


@pytest.fixture
def org(db):
    return OrganizationSettings.get()


@pytest.fixture
def cast(db, org) -> Cast:
    east = TeamFactory(name="East")
    west = TeamFactory(name="West")
    admin = UserFactory(email="admin@salesdesk.test", full_name="Ada Admin", role=Role.ADMIN)
    manager = UserFactory(
        email="manager@salesdesk.test", full_name="Max Manager", role=Role.MANAGER, team=east
    )
    east.manager = manager
    east.save()
    alice = UserFactory(email="alice@salesdesk.test", full_name="Alice East", team=east)
    bob = UserFactory(email="bob@salesdesk.test", full_name="Bob East", team=east)
    carol = UserFactory(email="carol@salesdesk.test", full_name="Carol West", team=west)
    outsider = UserFactory(email="olaf@salesdesk.test", full_name="Olaf Outsider", role=Role.SDR)
    return Cast(admin, manager, alice, bob, carol, outsider)


@pytest.fixture
def pipeline(db):
    pipeline = PipelineFactory(name="Sales", is_default=True)
    for position, (name, probability, stale) in enumerate(
        [("Lead", 10, 14), ("Qualified", 25, 21), ("Proposal", 50, 21), ("Negotiation", 75, 14)]
    ):
        StageFactory(
            pipeline=pipeline,
            name=name,
            position=position,
            probability=probability,
            stale_after_days=stale,
        )
    return pipeline


class ApiClient:
    """A Django test client that sends a real API token and JSON bodies."""

    def __init__(self, user: User):
        self.user = user
        _, key = api_token_create(user=user, name="tests")
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {key}")

    def get(self, path, data=None):
        return self.client.get(path, data)

    def post(self, path, data=None, **kwargs):
        return self.client.post(path, data, content_type="application/json", **kwargs)

    def patch(self, path, data=None):
        return self.client.patch(path, data, content_type="application/json")

    def put(self, path, data=None):
        return self.client.put(path, data, content_type="application/json")

    def delete(self, path):
        return self.client.delete(path)


@pytest.fixture
def api_client():
    return ApiClient

"""Schemathesis throws generated and malformed requests at every operation of the OpenAPI schema.

Whatever it sends, the API must answer with a 2xx/4xx JSON body and never a 500.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from salesdesk.accounts.services import api_token_create
from tests.factories import CompanyFactory, ContactFactory, DealFactory, LostReasonFactory

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

SCHEMA = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
OPERATIONS = {result.ok().label: result.ok() for result in SCHEMA.get_all_operations()}


@pytest.fixture
def _keep_test_connection():
    """Like Django's test client: requests must not close the test's transaction connection."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(cast, pipeline, _keep_test_connection):
    stage = pipeline.stages.first()
    company = CompanyFactory(owner=cast.admin)
    contact = ContactFactory(owner=cast.admin, company=company)
    deal = DealFactory(owner=cast.admin, stage=stage, company=company)
    deal.contacts.add(contact)
    LostReasonFactory(name="Price")
    _, key = api_token_create(user=cast.admin, name="fuzz")
    return key


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_no_request_gets_a_server_error(label, mode, token):
    operation = OPERATIONS[label]

    @settings(
        max_examples=15,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def check(data):
        case = data.draw(operation.as_strategy(generation_mode=mode))
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        assert response.status_code < 500, (
            label,
            case.path_parameters,
            case.query,
            case.body,
            response.text[:300],
        )
        if response.status_code >= 400:
            assert response.headers["content-type"][0].startswith("application/json")
            assert "detail" in response.json()

    check()

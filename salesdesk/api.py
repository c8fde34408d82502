"""The REST API: one NinjaAPI mounting each app's router under /api/v1/."""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from salesdesk.accounts.services import api_token_authenticate
from salesdesk.core.errors import ApplicationError

logger = logging.getLogger(__name__)


class TokenAuth(HttpBearer):
    """`Authorization: Bearer sd_…` with a personal API token."""

    def authenticate(self, request: HttpRequest, token: str):
        user = api_token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The browser's session, with Django's CSRF check on unsafe methods."""

    param_name = "sessionid"

    def authenticate(self, request: HttpRequest, key: str | None):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


api = NinjaAPI(
    title="Salesdesk API",
    version="1",
    description="Companies, contacts, deals, activities and the pipeline. Authenticate with "
    "`Authorization: Bearer <token>`; create tokens under /api/v1/tokens.",
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=[TokenAuth(), SessionAuth(csrf=True)],
)


@api.exception_handler(ApplicationError)
def application_error(request, exc: ApplicationError):
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(NinjaValidationError)
def validation_error(request, exc: NinjaValidationError):
    errors = []
    for error in exc.errors:
        location = ".".join(
            str(part) for part in error.get("loc", ()) if part not in ("body", "payload")
        )
        errors.append({"field": location, "message": error.get("msg", "Invalid value.")})
    summary = "; ".join(
        f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors
    )
    return api.create_response(
        request,
        {"detail": summary or "Invalid input.", "code": "invalid", "errors": errors},
        status=422,
    )


@api.exception_handler(AuthenticationError)
def authentication_error(request, exc):
    return api.create_response(
        request,
        {"detail": "Authentication required: send a valid API token.", "code": "unauthorized"},
        status=401,
    )


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    return api.create_response(
        request, {"detail": str(exc), "code": "error"}, status=exc.status_code
    )


@api.exception_handler(Http404)
def not_found(request, exc):
    return api.create_response(request, {"detail": "Not found.", "code": "not_found"}, status=404)


@api.exception_handler(DjangoValidationError)
def django_validation_error(request, exc: DjangoValidationError):
    fields = {
        key: " ".join(str(m) for m in messages)
        for key, messages in getattr(exc, "message_dict", {}).items()
    }
    message = "; ".join(exc.messages) or "Invalid input."
    body = {"detail": message, "code": "invalid"}
    if fields:
        body["errors"] = fields
    return api.create_response(request, body, status=422)


@api.exception_handler(IntegrityError)
def integrity_error(request, exc):
    logger.info("integrity error answered with 409: %s", exc)
    return api.create_response(
        request,
        {"detail": "This conflicts with an existing record.", "code": "conflict"},
        status=409,
    )


@api.exception_handler(DataError)
@api.exception_handler(OverflowError)
def data_error(request, exc):
    logger.warning("database refused a value on %s %s: %s", request.method, request.path, exc)
    return api.create_response(
        request, {"detail": "A value is out of range or malformed.", "code": "invalid"}, status=422
    )


@api.exception_handler(Exception)
def unexpected_error(request, exc):
    logger.exception("unhandled API error on %s %s", request.method, request.path)
    return api.create_response(
        request,
        {"detail": "Something went wrong on our side; it has been logged.", "code": "server_error"},
        status=500,
    )


def _mount() -> None:
    from salesdesk.accounts.api import router as accounts_router
    from salesdesk.activities.api import router as activities_router
    from salesdesk.analytics.revenue_api import router as revenue_router
    from salesdesk.analytics.team_api import router as team_router
    from salesdesk.crm.api import router as crm_router
    from salesdesk.crm.transfer_api import router as transfer_router
    from salesdesk.goals.api import router as goals_router
    from salesdesk.goals.forecast_api import router as forecast_router
    from salesdesk.pipeline.api import router as pipeline_router

    api.add_router("/v1/", accounts_router)
    api.add_router("/v1/", crm_router)
    api.add_router("/v1/", pipeline_router)
    api.add_router("/v1/", activities_router)
    api.add_router("/v1/", transfer_router)
    api.add_router("/v1/", goals_router)
    api.add_router("/v1/", forecast_router)
    api.add_router("/v1/", revenue_router)
    api.add_router("/v1/", team_router)


_mount()

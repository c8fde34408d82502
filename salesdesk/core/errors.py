"""The one family of domain errors. Views show them as form errors, the API as JSON 4xx."""


class ApplicationError(Exception):
    status = 400
    code = "invalid"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None, code: str = ""):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code:
            self.code = code

    def as_dict(self) -> dict:
        body = {"detail": self.message, "code": self.code}
        if self.fields:
            body["errors"] = self.fields
        return body


class ValidationFailed(ApplicationError):
    status = 422
    code = "invalid"


class NotFound(ApplicationError):
    status = 404
    code = "not_found"


class PermissionDenied(ApplicationError):
    status = 403
    code = "forbidden"


class Conflict(ApplicationError):
    status = 409
    code = "conflict"

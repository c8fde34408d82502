from django.contrib.auth.forms import AuthenticationForm
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


class SignInForm(AuthenticationForm):
    """E-mail addresses are stored in lower case, so sign-in takes them in any case.

    The lower-cased address is also what django-axes counts failures against, so
    "Alice@…" and "alice@…" share one lockout.
    """

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Please enter a correct e-mail address and password.",
    }

    def clean_username(self) -> str:
        return self.cleaned_data["username"].strip().lower()


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return JsonResponse(
            {
                "detail": "Something went wrong on our side; it has been logged.",
                "code": "server_error",
            },
            status=500,
        )
    return render(request, "500.html", status=500)

"""What the web views of every app share: loading visible records, forms and errors, lists."""

from collections.abc import Iterable
from urllib.parse import urlencode

from django.core.paginator import Page, Paginator
from django.db.models import Model, QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, StreamingHttpResponse

from salesdesk.accounts import visibility
from salesdesk.core.errors import ApplicationError

PER_PAGE = 50


def get_visible_or_404(request: HttpRequest, queryset: QuerySet, pk: int) -> Model:
    """The record if the signed-in user may see it; otherwise 404, as if it did not exist."""
    record = visibility.scope(request.user, queryset).filter(pk=pk).first()
    if record is None:
        raise Http404("No such record.")
    return record


def add_application_error(form: Form, error: ApplicationError) -> None:
    """Show a domain error next to the fields it names, or above the form."""
    placed = False
    for field, message in error.fields.items():
        name = field.removesuffix("_id").removesuffix("_ids")
        for candidate in (field, name, f"{name}s"):
            if candidate in form.fields:
                form.add_error(candidate, message)
                placed = True
                break
    if not placed:
        form.add_error(None, error.message)


def paginate(request: HttpRequest, queryset: QuerySet, per_page: int = PER_PAGE) -> Page:
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def sorted_by(request: HttpRequest, queryset: QuerySet, choices: dict[str, str], default: str):
    """Order by the `sort` parameter if it names one of `choices` (a leading '-' reverses).

    Returns (queryset, sort key) so the template can mark the active column.
    """
    key = request.GET.get("sort") or default
    descending = key.startswith("-")
    field = choices.get(key.lstrip("-"))
    if field is None:
        key, descending, field = default, default.startswith("-"), choices[default.lstrip("-")]
    return queryset.order_by(f"-{field}" if descending else field, "-pk"), key


def query_without(request: HttpRequest, *names: str) -> str:
    """The current query string minus `names`, to build sort and page links that keep filters."""
    pairs = [(k, v) for k, v in request.GET.items() if k not in names and v != ""]
    return urlencode(pairs)


def csv_download(chunks: Iterable[str], filename: str) -> StreamingHttpResponse:
    """A CSV file streamed as it is written, so a long export starts at once and stays small."""
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response

"""Saved views of the list pages (companies, contacts, deals, activities).

A list view adds `saved_views_context(request, entity)` to its context and includes
includes/saved_views.html; saving and deleting post to /saved-views/ (crm.views).
"""

from django.http import HttpRequest

from salesdesk.crm.forms import SavedViewForm
from salesdesk.crm.models import SavedView
from salesdesk.crm.services import saved_view_query


def saved_views_context(request: HttpRequest, entity: str) -> dict:
    """The user's saved views of one list and the form that saves the current filters."""
    current = saved_view_query(request.GET.urlencode())
    return {
        "saved_views": SavedView.objects.filter(user=request.user, entity=entity),
        "saved_view_form": SavedViewForm(initial={"entity": entity, "query": current}),
        "current_query": current,
    }

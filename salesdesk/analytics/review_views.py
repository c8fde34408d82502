"""The 1:1 review screens: the reps a manager reviews, and one rep's scorecard.

The scorecard's small forms answer htmx with their own partial (a next step, the coaching
notes) and plain form posts with a redirect and a message, so the page works without script.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from salesdesk.accounts.models import OrganizationSettings, User
from salesdesk.analytics import review
from salesdesk.core.errors import ApplicationError
from salesdesk.core.web import add_application_error, get_visible_or_404
from salesdesk.pipeline import services as pipeline_services
from salesdesk.pipeline.forms import NextStepForm
from salesdesk.pipeline.models import Deal

TEMPLATE = "analytics/review.html"


class CoachingNoteForm(forms.Form):
    body = forms.CharField(
        label="New coaching note",
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}),
    )


def _rep_or_404(request: HttpRequest, user_id: int) -> tuple[User, bool]:
    found = review.scorecard_rep(request.user, user_id)
    if found is None:
        raise Http404("No such person to review.")
    return found


def _next_step_form(deal: Deal, slot: str, data=None) -> NextStepForm:
    """One deal's next-step form; ids carry the list and the deal, as a deal can be in two."""
    initial = {"next_step": deal.next_step, "next_step_due": deal.next_step_due}
    return NextStepForm(data, initial=initial, auto_id=f"id_{slot}_{deal.pk}_%s")


def _refused(request: HttpRequest, rep: User, message: str, status: int) -> HttpResponse:
    """An htmx request gets the words (app.js shows them); a plain post goes back with them."""
    if request.htmx:
        return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")
    messages.error(request, message)
    return redirect("review_scorecard", user_id=rep.pk)


@login_required
@require_GET
def review_list(request: HttpRequest) -> HttpResponse:
    period, rows = review.review_list(actor=request.user)
    return render(request, "analytics/review_list.html", {"period": period, "rows": rows})


@login_required
@require_GET
def scorecard(request: HttpRequest, user_id: int) -> HttpResponse:
    rep, is_reviewer = _rep_or_404(request, user_id)
    organization = OrganizationSettings.get()
    card = review.scorecard(
        actor=request.user, rep=rep, is_reviewer=is_reviewer, organization=organization
    )
    for focus in card.focus:
        for deal in focus.rows:
            deal.next_step_form = _next_step_form(deal, focus.key)
    return render(
        request,
        TEMPLATE,
        {
            "card": card,
            "rep": rep,
            "is_reviewer": is_reviewer,
            "notes": card.notes,
            "note_form": CoachingNoteForm(),
            "base_currency": organization.base_currency,
        },
    )


@login_required
@require_POST
def next_step_save(request: HttpRequest, user_id: int, deal_id: int) -> HttpResponse:
    rep, _ = _rep_or_404(request, user_id)
    deal = get_visible_or_404(
        request, Deal.objects.filter(owner_id=rep.pk).select_related("stage"), deal_id
    )
    slot = request.POST.get("slot", "")
    slot = slot if slot in review.FOCUS_KEYS else "deal"
    form = _next_step_form(deal, slot, request.POST)
    status = 422
    if form.is_valid():
        try:
            deal = pipeline_services.deal_update(
                actor=request.user,
                deal=deal,
                next_step=form.cleaned_data["next_step"],
                next_step_due=form.cleaned_data["next_step_due"],
            )
        except ApplicationError as error:
            if not error.fields:
                return _refused(request, rep, error.message, error.status)
            add_application_error(form, error)
            status = error.status
        else:
            if not request.htmx:
                messages.success(request, f"Next step of “{deal.title}” saved.")
                return redirect("review_scorecard", user_id=rep.pk)
            deal.next_step_form = _next_step_form(deal, slot)
            context = {"deal": deal, "slot": slot, "rep": rep, "saved": True}
            return render(request, f"{TEMPLATE}#next-step", context)
    if not request.htmx:
        errors = "; ".join(str(error) for errors in form.errors.values() for error in errors)
        return _refused(request, rep, f"The next step was not saved: {errors}", status)
    deal.next_step_form = form
    return render(
        request, f"{TEMPLATE}#next-step", {"deal": deal, "slot": slot, "rep": rep}, status=status
    )


@login_required
@require_POST
def note_add(request: HttpRequest, user_id: int) -> HttpResponse:
    rep, is_reviewer = _rep_or_404(request, user_id)
    if not is_reviewer:
        return _refused(request, rep, "Only the rep's managers and admins write notes.", 403)
    form = CoachingNoteForm(request.POST)
    status = 422
    if form.is_valid():
        try:
            review.coaching_note_add(actor=request.user, rep=rep, body=form.cleaned_data["body"])
        except ApplicationError as error:
            add_application_error(form, error)
            status = error.status
        else:
            if not request.htmx:
                messages.success(request, "Coaching note added.")
                return redirect("review_scorecard", user_id=rep.pk)
            form, status = CoachingNoteForm(), 200
    elif not request.htmx:
        return _refused(request, rep, "Write the note before adding it.", status)
    context = {
        "rep": rep,
        "is_reviewer": True,
        "notes": review.coaching_notes(rep_id=rep.pk),
        "note_form": form,
        "note_added": status == 200,
    }
    return render(request, f"{TEMPLATE}#notes", context, status=status)


@login_required
@require_POST
def mark_held(request: HttpRequest, user_id: int) -> HttpResponse:
    rep, is_reviewer = _rep_or_404(request, user_id)
    if not is_reviewer:
        return _refused(request, rep, "Only the rep's managers and admins hold 1:1s.", 403)
    review.review_mark_held(actor=request.user, rep=rep)
    messages.success(
        request,
        f"1:1 with {rep.get_full_name()} marked held: what changed now counts from this moment.",
    )
    return redirect("review_scorecard", user_id=rep.pk)

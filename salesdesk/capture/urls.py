from django.urls import path

from salesdesk.capture import calendar_views, sending_views, views

urlpatterns = [
    path("account/mailboxes/", views.mailboxes, name="mailboxes"),
    path("account/mailboxes/privacy/", views.email_text, name="mailbox_email_text"),
    path("account/mailboxes/<int:pk>/", views.mailbox_edit, name="mailbox_edit"),
    path("account/mailboxes/<int:pk>/row/", views.mailbox_row, name="mailbox_row"),
    path("account/mailboxes/<int:pk>/sync/", views.mailbox_sync, name="mailbox_sync"),
    path("account/mailboxes/<int:pk>/toggle/", views.mailbox_toggle, name="mailbox_toggle"),
    path("account/mailboxes/<int:pk>/delete/", views.mailbox_delete, name="mailbox_delete"),
    # Connected calendars (calendar_views.py)
    path("account/calendars/", calendar_views.calendars, name="calendars"),
    path("account/calendars/<int:pk>/", calendar_views.calendar_edit, name="calendar_edit"),
    path("account/calendars/<int:pk>/row/", calendar_views.calendar_row, name="calendar_row"),
    path("account/calendars/<int:pk>/sync/", calendar_views.calendar_sync, name="calendar_sync"),
    path(
        "account/calendars/<int:pk>/toggle/", calendar_views.calendar_toggle, name="calendar_toggle"
    ),
    path(
        "account/calendars/<int:pk>/delete/", calendar_views.calendar_delete, name="calendar_delete"
    ),
    path("contacts/suggested/", views.suggestions, name="suggestions"),
    path("contacts/suggested/<int:pk>/accept/", views.suggestion_accept, name="suggestion_accept"),
    path("contacts/suggested/<int:pk>/ignore/", views.suggestion_ignore, name="suggestion_ignore"),
    path("capture/import/", views.file_import, name="capture_import"),
    path("capture/import/<str:task_id>/", views.file_import_status, name="capture_import_status"),
    path("capture/filled/<int:pk>/undo/", views.filled_field_undo, name="filled_field_undo"),
    # Sending (sending_views.py)
    path(
        "account/mailboxes/<int:pk>/sending/",
        sending_views.mailbox_sending,
        name="mailbox_sending",
    ),
    path(
        "account/mailboxes/<int:pk>/sending/remove/",
        sending_views.mailbox_sending_remove,
        name="mailbox_sending_remove",
    ),
    path("account/email-templates/", sending_views.email_templates, name="email_templates"),
    path(
        "account/email-templates/<int:pk>/",
        sending_views.email_template_edit,
        name="email_template_edit",
    ),
    path(
        "account/email-templates/<int:pk>/delete/",
        sending_views.email_template_delete,
        name="email_template_delete",
    ),
    path("contacts/<int:pk>/email/", sending_views.compose, {"record": "contact"}),
    path(
        "contacts/<int:pk>/email/template/", sending_views.compose_template, {"record": "contact"}
    ),
    path("deals/<int:pk>/email/", sending_views.compose, {"record": "deal"}),
    path("deals/<int:pk>/email/template/", sending_views.compose_template, {"record": "deal"}),
    # Tracking: what mail programs load, without signing in
    path("e/o/<str:token>.gif", sending_views.email_open, name="email_open"),
    path("e/c/<str:token>", sending_views.email_click, name="email_click"),
]

from django.urls import path

from salesdesk.capture import views

urlpatterns = [
    path("account/mailboxes/", views.mailboxes, name="mailboxes"),
    path("account/mailboxes/privacy/", views.email_text, name="mailbox_email_text"),
    path("account/mailboxes/<int:pk>/", views.mailbox_edit, name="mailbox_edit"),
    path("account/mailboxes/<int:pk>/row/", views.mailbox_row, name="mailbox_row"),
    path("account/mailboxes/<int:pk>/sync/", views.mailbox_sync, name="mailbox_sync"),
    path("account/mailboxes/<int:pk>/toggle/", views.mailbox_toggle, name="mailbox_toggle"),
    path("account/mailboxes/<int:pk>/delete/", views.mailbox_delete, name="mailbox_delete"),
    path("contacts/suggested/", views.suggestions, name="suggestions"),
    path("contacts/suggested/<int:pk>/accept/", views.suggestion_accept, name="suggestion_accept"),
    path("contacts/suggested/<int:pk>/ignore/", views.suggestion_ignore, name="suggestion_ignore"),
    path("capture/filled/<int:pk>/undo/", views.filled_field_undo, name="filled_field_undo"),
]

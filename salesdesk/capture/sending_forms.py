"""Forms of sending: a mailbox's SMTP settings, e-mail templates, and the message itself. The
services decide what is valid; these turn text into values and name what is wrong."""

from django import forms

from salesdesk.accounts import visibility
from salesdesk.accounts.forms import Styled
from salesdesk.capture import placeholders
from salesdesk.capture.models import EmailTemplate, Mailbox
from salesdesk.capture.sending import (
    MAX_BODY,
    MAX_RECIPIENTS,
    SendingFields,
    parse_recipients,
)


class SendingForm(Styled, forms.Form):
    smtp_host = forms.CharField(
        label="SMTP server",
        max_length=253,
        help_text="For example smtp.gmail.com, smtp.office365.com or smtp.example.com.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    smtp_security = forms.ChoiceField(
        label="SMTP security", choices=Mailbox.Security.choices, initial="starttls"
    )
    smtp_port = forms.IntegerField(
        label="SMTP port",
        min_value=1,
        max_value=65535,
        initial=587,
        help_text="587 with STARTTLS, 465 with SSL/TLS.",
    )
    smtp_username = forms.CharField(
        label="SMTP username",
        max_length=254,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    smtp_password = forms.CharField(
        label="SMTP password",
        max_length=500,
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    saves_sent_copy = forms.BooleanField(
        label="Put a copy of what I send in this mailbox's Sent folder",
        required=False,
        help_text="Turn it off for Gmail and Microsoft 365, which keep a copy themselves.",
    )

    def __init__(self, *args, mailbox: Mailbox, **kwargs):
        super().__init__(*args, **kwargs)
        self.mailbox = mailbox
        self.fields[
            "smtp_username"
        ].help_text = f"Leave empty to use the IMAP username ({mailbox.username})."
        self.fields["smtp_password"].help_text = (
            "Saved encrypted and never shown again. Leave empty to keep the saved one."
            if mailbox.smtp_secret
            else "Saved encrypted and never shown again. Leave empty to use the IMAP password."
        )

    @classmethod
    def for_mailbox(cls, mailbox: Mailbox) -> "SendingForm":
        """The form as the mailbox is set up; for a mailbox that does not send yet, a guess
        from its IMAP server (imap.example.com → smtp.example.com)."""
        if mailbox.sends:
            initial = {
                "smtp_host": mailbox.smtp_host,
                "smtp_security": mailbox.smtp_security,
                "smtp_port": mailbox.smtp_port,
                "smtp_username": mailbox.smtp_username,
                "saves_sent_copy": mailbox.saves_sent_copy,
            }
        else:
            host = mailbox.host
            guess = "smtp." + host.removeprefix("imap.") if host.startswith("imap.") else ""
            initial = {"smtp_host": guess, "saves_sent_copy": True}
        return cls(mailbox=mailbox, initial=initial)

    def sending_fields(self) -> SendingFields:
        data = self.cleaned_data
        return SendingFields(
            host=data["smtp_host"],
            port=data["smtp_port"],
            security=data["smtp_security"],
            username=data["smtp_username"],
            saves_sent_copy=data["saves_sent_copy"],
        )


def _placeholder_errors(text: str) -> str:
    found = placeholders.problems(text)
    if found:
        raise forms.ValidationError(" ".join(found))
    return text


class EmailTemplateForm(Styled, forms.Form):
    name = forms.CharField(label="Name", max_length=100)
    subject = forms.CharField(label="Subject", max_length=255)
    body = forms.CharField(
        label="Text", max_length=MAX_BODY, strip=False, widget=forms.Textarea(attrs={"rows": 10})
    )
    is_shared = forms.BooleanField(
        label="Shared: everyone can use it",
        required=False,
        help_text="Only you (and admins) change it; the others pick it when they write.",
    )

    def __init__(self, *args, user, template: EmailTemplate | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if not visibility.can_share_email_templates(user) and not (template and template.is_shared):
            del self.fields["is_shared"]

    def clean_subject(self) -> str:
        return _placeholder_errors(self.cleaned_data["subject"])

    def clean_body(self) -> str:
        return _placeholder_errors(self.cleaned_data["body"])

    def template_fields(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "subject": data["subject"],
            "body": data["body"],
            "is_shared": data.get("is_shared", False),
        }


def _sender_label(mailbox: Mailbox) -> str:
    name = mailbox.user.full_name
    return f"{name} <{mailbox.from_address}>" if name else mailbox.from_address


class ComposeForm(Styled, forms.Form):
    mailbox = forms.TypedChoiceField(label="From", coerce=int)
    to = forms.CharField(
        label="To",
        max_length=5000,
        help_text="Separate addresses with commas.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    cc = forms.CharField(
        label="Cc",
        max_length=5000,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    template = forms.ChoiceField(
        label="Template", required=False, help_text="Picking one fills the subject and the text."
    )
    subject = forms.CharField(label="Subject", max_length=255)
    body = forms.CharField(
        label="Message", max_length=MAX_BODY, strip=False, widget=forms.Textarea(attrs={"rows": 12})
    )
    track_opens = forms.BooleanField(
        label="Track opens",
        required=False,
        help_text="Adds a tiny image; loading it shows as an open on the timeline.",
    )
    track_clicks = forms.BooleanField(
        label="Track clicks",
        required=False,
        help_text="Links pass through Salesdesk, which records each click.",
    )

    def __init__(
        self,
        *args,
        user,
        mailboxes: list[Mailbox],
        templates,
        template_url: str = "",
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.mailboxes = {mailbox.pk: mailbox for mailbox in mailboxes}
        self.fields["mailbox"].choices = [
            (mailbox.pk, _sender_label(mailbox)) for mailbox in mailboxes
        ]
        self.fields["template"].choices = [
            ("", "None"),
            *(
                (
                    template.pk,
                    template.name
                    if template.owner_id == user.pk
                    else f"{template.name} (shared by {template.owner})",
                )
                for template in templates
            ),
        ]
        if template_url:
            self.fields["template"].widget.attrs.update(
                {
                    "hx-get": template_url,
                    "hx-trigger": "change[target.value != '']",
                    "hx-target": "#compose-text",
                    "hx-swap": "outerHTML",
                }
            )

    def clean_mailbox(self) -> Mailbox:
        return self.mailboxes[self.cleaned_data["mailbox"]]

    def _recipients(self, name: str) -> list[tuple[str, str]]:
        found, bad = parse_recipients(self.cleaned_data[name])
        if bad:
            quoted = ", ".join(f"“{part}”" for part in bad)
            word = "is not an address" if len(bad) == 1 else "are not addresses"
            raise forms.ValidationError(f"{quoted} {word} Salesdesk can send to.")
        return found

    def clean_to(self) -> list[tuple[str, str]]:
        found = self._recipients("to")
        if not found:
            raise forms.ValidationError("Enter at least one address.")
        return found

    def clean_cc(self) -> list[tuple[str, str]]:
        return self._recipients("cc")

    def clean_subject(self) -> str:
        subject = self.cleaned_data["subject"]
        if "\n" in subject or "\r" in subject:
            raise forms.ValidationError("A subject is one line.")
        return _placeholder_errors(subject)

    def clean_body(self) -> str:
        body = self.cleaned_data["body"]
        if not body.strip():
            raise forms.ValidationError("Write the message.")
        return _placeholder_errors(body)

    def clean(self):
        data = super().clean()
        seen = set()
        for name in ("to", "cc"):
            # Each address once: in To rather than in Cc.
            kept = []
            for recipient in data.get(name) or []:
                if recipient[1].lower() not in seen:
                    seen.add(recipient[1].lower())
                    kept.append(recipient)
            if name in data:
                data[name] = kept
        if len(seen) > MAX_RECIPIENTS:
            self.add_error("to", f"Send to at most {MAX_RECIPIENTS} addresses at once.")
        return data

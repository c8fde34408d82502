from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from salesdesk.accounts.models import User
from salesdesk.analytics import digest


class Command(BaseCommand):
    help = (
        "Send this week's digest now: to one user (--user) or to every active user who has "
        "not had it yet. --force sends it again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--user", metavar="EMAIL", help="only this user")
        parser.add_argument(
            "--force", action="store_true", help="send even if this week's digest went out"
        )

    def handle(self, *args, user: str | None, force: bool, **options):
        users = User.objects.filter(is_active=True).order_by("email")
        if user:
            users = users.filter(email__iexact=user.strip())
            if not users.exists():
                raise CommandError(f"No active user with the e-mail address {user}.")
        now = timezone.now()
        sent = 0
        for person in users:
            week_start = digest.week_start_for(person, now)
            outcome = digest.send_digest(
                user_id=person.pk, week_start=week_start, force=force, now=now
            )
            sent += outcome == digest.SENT
            self.stdout.write(f"{person.email}: {outcome} (week of {week_start:%Y-%m-%d})")
        self.stdout.write(f"{sent} digest{'s' if sent != 1 else ''} sent.")

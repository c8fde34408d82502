from django.core.management.base import BaseCommand, CommandError

from salesdesk.accounts.models import ApiToken, User
from salesdesk.accounts.services import api_token_create, api_token_revoke
from salesdesk.core.errors import ApplicationError


class Command(BaseCommand):
    help = "Create, list or revoke a user's personal API tokens."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="create a token and print it once")
        create.add_argument("email")
        create.add_argument("--name", default="cli")
        listing = actions.add_parser("list", help="list a user's tokens")
        listing.add_argument("email")
        revoke = actions.add_parser("revoke", help="revoke a token by its prefix")
        revoke.add_argument("email")
        revoke.add_argument("prefix")

    def handle(self, *args, action: str, email: str, **options):
        user = User.objects.filter(email__iexact=email.strip()).first()
        if user is None:
            raise CommandError(f"No user with the e-mail address {email}.")
        try:
            if action == "create":
                _, key = api_token_create(user=user, name=options["name"])
                self.stdout.write(key)
                self.stderr.write("Keep this token safe: it is not shown again.")
            elif action == "list":
                for token in ApiToken.objects.filter(user=user).order_by("-pk"):
                    state = "revoked" if token.revoked_at else "active"
                    self.stdout.write(
                        f"{token.prefix}\t{token.name}\t{state}\t{token.created_at:%Y-%m-%d}"
                    )
            else:
                token = ApiToken.objects.filter(user=user, prefix=options["prefix"]).first()
                if token is None:
                    raise CommandError(f"{email} has no token with the prefix {options['prefix']}.")
                api_token_revoke(user=user, token_id=token.pk)
                self.stdout.write(f"Revoked {token.prefix} ({token.name}).")
        except ApplicationError as error:
            raise CommandError(error.message) from None

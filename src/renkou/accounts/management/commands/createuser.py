"""renkou createuser USERNAME --role ROLE --unit CODE [--password P] [--token]"""

from __future__ import annotations

import getpass

from django.core.management.base import BaseCommand, CommandError

from renkou.accounts.models import Role
from renkou.accounts.selectors import user_get_by_username
from renkou.accounts.services import token_create, user_create
from renkou.core.errors import RuleViolation
from renkou.orgunits.selectors import unit_get_by_code


class Command(BaseCommand):
    help = "Add a user with a role and an organisation unit; --token also prints a new API token."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=Role.values, help="required for a new user")
        parser.add_argument("--unit", help="statistical code of the user's unit (12 digits); required for a new user")
        parser.add_argument("--name", default="", help="full name shown in the interface")
        parser.add_argument("--password", help="password (asked for when omitted and --no-password not given)")
        parser.add_argument("--no-password", action="store_true", help="API-only user without a password")
        parser.add_argument("--token", action="store_true", help="print a new API token for the user")
        parser.add_argument("--existing", action="store_true", help="only issue a token to an existing user")

    def handle(self, *args, **opts):
        if opts["existing"]:
            user = user_get_by_username(opts["username"])
            if user is None:
                raise CommandError(f"No user {opts['username']!r}.")
        else:
            if not opts["role"] or not opts["unit"]:
                raise CommandError("A new user needs --role and --unit.")
            unit = unit_get_by_code(code=opts["unit"])
            if unit is None:
                raise CommandError(f"No unit with code {opts['unit']!r}.")
            password = opts["password"]
            if not password and not opts["no_password"]:
                password = getpass.getpass("Password: ")
            try:
                user = user_create(username=opts["username"], password=password, role=opts["role"], unit=unit,
                                   full_name=opts["name"])
            except RuleViolation as exc:
                raise CommandError(f"{exc.field}: {exc.message}") from exc
            self.stderr.write(f"Created {user.username} ({user.role}) at {unit.name} {unit.code}.")
        if opts["token"]:
            self.stdout.write(token_create(user=user, name="cli"))

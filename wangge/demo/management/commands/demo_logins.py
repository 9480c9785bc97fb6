from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from wangge.demo.people import DEMO_PASSWORD, demo_users_ensure
from wangge.regions.models import Region


class Command(BaseCommand):
    help = "Print the demo logins (user, role, scope) and an API token for each demo role."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", default="8000")

    def handle(self, *args: Any, **options: Any) -> None:
        districts = list(Region.objects.filter(level=Region.Level.DISTRICT).order_by("code"))
        if not districts:
            raise CommandError("No district is loaded: run `manage.py demo_data` first.")
        port = options["port"]
        first = None
        for district in districts:
            logins = demo_users_ensure(district.code)
            first = first or logins[0]
            self.stdout.write(self.style.MIGRATE_HEADING(f"\n{district.name} ({district.code})"))
            self.stdout.write(f"{'user':<22}{'role':<22}{'scope':<30}API token")
            for login in logins:
                scope = f"{login.scope_code} {login.scope_name}"
                self.stdout.write(f"{login.username:<22}{login.role:<22}{scope:<30}{login.token}")
        self.stdout.write(
            f"\nEvery demo user's password is {DEMO_PASSWORD!r}.\n"
            f"Map:   http://127.0.0.1:{port}/map/\n"
            f"Admin: http://127.0.0.1:{port}/admin/ (admin_{districts[0].code})\n"
            f"API:   curl -H 'Authorization: Token {first.token}' "
            f"'http://127.0.0.1:{port}/api/v1/locate/?lng=116.3661&lat=39.9125'\n"
        )

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from wangge.core.models import User
from wangge.core.roles import Role
from wangge.demo.departments import featured_logins
from wangge.demo.people import (
    DEMO_PASSWORD,
    GRID_WORKER_PREFIX,
    DemoLogin,
    demo_users_ensure,
    grid_worker_username,
)
from wangge.regions.models import Grid, Region


class Command(BaseCommand):
    help = (
        "Print the demo logins: one user per role and one handler per department of the "
        "responsibility matrix, each with an API token, and the pattern of the grid workers' "
        "logins (gw-<grid code>); --all lists every grid worker too."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", default="8000")
        parser.add_argument(
            "--all", action="store_true", help="also list every grid worker (gw-<grid code>)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        districts = list(Region.objects.filter(level=Region.Level.DISTRICT).order_by("code"))
        if not districts:
            raise CommandError("No district is loaded: run `manage.py demo_data` first.")
        port = options["port"]
        first = None
        for district in districts:
            cast = demo_users_ensure(district.code)
            handlers = featured_logins(district.code)
            first = first or cast[0]
            self.stdout.write(self.style.MIGRATE_HEADING(f"\n{district.name} ({district.code})"))
            self._table(cast)
            self.stdout.write(
                f"\nDepartment handlers, one per department the responsibility matrix "
                f"dispatches to ({len(handlers)}):"
            )
            self._table(handlers)
            self._grid_workers(district.code, listed=options["all"])
        self.stdout.write(
            f"\nEvery demo user's password is {DEMO_PASSWORD!r}.\n"
            f"Sign in: http://127.0.0.1:{port}/accounts/login/\n"
            f"Admin:   http://127.0.0.1:{port}/admin/ (admin_{districts[0].code})\n"
            f"API:     curl -H 'Authorization: Token {first.token}' "
            f"'http://127.0.0.1:{port}/api/v1/locate/?lng=116.3661&lat=39.9125'\n"
        )

    def _table(self, logins: list[DemoLogin]) -> None:
        self.stdout.write(f"{'user':<22}{'role':<22}{'scope':<30}API token")
        for login in logins:
            scope = f"{login.scope_code} {login.scope_name}"
            self.stdout.write(f"{login.username:<22}{login.role:<22}{scope:<30}{login.token}")

    def _grid_workers(self, district_code: str, *, listed: bool) -> None:
        grids = Grid.objects.filter(layer_id="social", code__startswith=district_code).order_by(
            "code"
        )
        count = grids.count()
        examples = list(grids.values_list("code", "name")[:2])
        if not examples:
            return
        example = examples[-1]  # the first grid's printed worker is gridworker_<district>
        self.stdout.write(
            f"\nGrid workers: {GRID_WORKER_PREFIX}<grid code>, one per social grid ({count:,}), "
            f"scoped to that grid, e.g. {grid_worker_username(example[0])} ({example[1]})."
        )
        if not listed:
            self.stdout.write("List them all with `manage.py demo_logins --all`.")
            return
        names = dict(grids.values_list("code", "name"))
        workers = User.objects.filter(
            username__startswith=f"{GRID_WORKER_PREFIX}{district_code}"
        ).order_by("username")
        self.stdout.write(f"{'user':<22}{'role':<22}scope")
        for username, scope_code in workers.values_list("username", "scope_grants__prefix"):
            grid = names.get(scope_code, "")
            self.stdout.write(f"{username:<22}{Role.GRID_WORKER.value:<22}{scope_code} {grid}")

"""``manage.py workload``: run concurrent cross-grid operations and write their history (JSONL).

It creates its own small world (cases, houses, people, grid workers named ``WL…``/``wl-…``) in the
configured database, so run it on a scratch or demo database, never on production data.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from wangge.proof import workload


class Command(BaseCommand):
    help = "Drive transfers, moves and reassignments from concurrent clients; write the history."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--clients", type=int, default=16)
        parser.add_argument("--ops", type=int, default=5000)
        parser.add_argument("--isolation", choices=workload.ISOLATIONS, default="serializable")
        parser.add_argument("--out", default="history.jsonl", help="Where the JSONL history goes.")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--grids", type=int, default=6)
        parser.add_argument("--cases", type=int, default=24)
        parser.add_argument("--houses", type=int, default=12)
        parser.add_argument("--people", type=int, default=18)
        parser.add_argument("--workers", type=int, default=6)
        parser.add_argument("--attempts", type=int, default=30, help="Retries per operation.")
        parser.add_argument(
            "--force", action="store_true", help="Run although WANGGE_DEBUG is off."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not (settings.DEBUG or options["force"] or _is_test_database()):
            raise CommandError(
                "workload writes test records; run it on a scratch database with WANGGE_DEBUG=1 "
                "(or pass --force)."
            )
        if options["clients"] < 1 or options["ops"] < 1:
            raise CommandError("--clients and --ops must be at least 1.")
        try:
            world = workload.build_world(
                grids=options["grids"],
                cases=options["cases"],
                houses=options["houses"],
                people=options["people"],
                workers=options["workers"],
                seed=options["seed"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        result = workload.run_workload(
            world,
            clients=options["clients"],
            ops=options["ops"],
            isolation=options["isolation"],
            seed=options["seed"],
            attempts=options["attempts"],
        )
        result.violations = workload.check_invariants(world, result)
        result.write_jsonl(options["out"])
        self.stdout.write(result.summary())
        for refusal, count in result.refusals.most_common(5):
            self.stdout.write(f"  refused {count}×: {refusal}")
        for problem in result.violations[:20]:
            self.stdout.write(f"  invariant broken: {problem}")
        from wangge.proof.serializability import check

        verdict = check(result.history)
        self.stdout.write(verdict.explain())
        self.stdout.write(
            f"history written to {options['out']}; check it with manage.py check_history"
        )


def _is_test_database() -> bool:
    from django.db import connection

    name = str(connection.settings_dict.get("NAME", ""))
    return name.startswith("test_") or "memory" in name

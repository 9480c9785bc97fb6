from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from wangge.demo.people import demo_users_ensure
from wangge.demo.territory import DISTRICTS, build_territory
from wangge.regions.models import Grid, Region
from wangge.regions.services import territory_import

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


class Command(BaseCommand):
    help = (
        "Build the deterministic demo district: its real outline, streets and communities, "
        "synthetic borders and grids, and one user per role. Run again, it reuses what is there."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--district", default="110102", choices=sorted(DISTRICTS))
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--force", action="store_true", help="rebuild the territory")

    def handle(self, *args: Any, **options: Any) -> None:
        code = options["district"]
        started = time.monotonic()
        loaded = (
            Region.objects.filter(code=code).exists()
            and Grid.objects.filter(code__startswith=code).exists()
        )
        if loaded and not options["force"]:
            self.stdout.write(f"Demo district {code} is already loaded: reusing it.")
        else:
            self._load_territory(code, options["seed"])
        demo_users_ensure(code)
        self._summary(code, time.monotonic() - started)

    def _load_territory(self, code: str, seed: int) -> None:
        self.stdout.write(f"Generating the territory of {code} …")
        data = build_territory(code, DATA_DIR, seed=seed)
        self.stdout.write(f"Importing {len(data['features'])} features …")
        report = territory_import(data=data, actor=None)
        if not report.ok:
            for problem in report.problems[:50]:
                self.stderr.write(str(problem))
            raise CommandError(f"the generated territory has {len(report.problems)} problem(s)")
        for warning in report.warnings[:20]:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))

    def _summary(self, code: str, seconds: float) -> None:
        regions = Region.objects.filter(code__startswith=code)
        grids = Grid.objects.filter(code__startswith=code)
        counts = {
            "streets": regions.filter(level=Region.Level.STREET).count(),
            "communities": regions.filter(level=Region.Level.COMMUNITY).count(),
            "social grids": grids.filter(layer_id="social").count(),
            "unit grids": grids.filter(layer_id="unit").count(),
        }
        listed = ", ".join(f"{n} {what}" for what, n in counts.items())
        self.stdout.write(self.style.SUCCESS(f"Demo district {code}: {listed} ({seconds:.1f} s)"))

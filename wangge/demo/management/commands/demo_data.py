from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from wangge.cases.models import Case
from wangge.demo.cases import DEFAULT_COUNT, GenerationReport, generate_cases
from wangge.demo.departments import departments_ensure
from wangge.demo.people import demo_users_ensure
from wangge.demo.population import SIZES, generate_population
from wangge.demo.territory import DISTRICTS, build_territory
from wangge.regions.models import Grid, Region
from wangge.regions.services import territory_import

DATA_DIR = Path(__file__).resolve().parents[2] / "data"


class Command(BaseCommand):
    help = (
        "Build the deterministic demo district: its real outline, streets and communities, "
        "synthetic borders and grids, one user per role, the professional departments with their "
        "responsibility matrix and handlers, and a year of cases. Run again, it reuses what is there."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--district", default="110102", choices=sorted(DISTRICTS))
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--force", action="store_true", help="rebuild the territory")
        parser.add_argument(
            "--cases",
            type=int,
            default=DEFAULT_COUNT,
            metavar="N",
            help=f"cases to generate when the district has none yet (default {DEFAULT_COUNT:,})",
        )
        parser.add_argument("--no-cases", action="store_true", help="generate no cases")
        parser.add_argument(
            "--population",
            default="demo",
            choices=[*SIZES, "none"],
            help="synthetic residents, houses, organizations and components: the first street "
            "(demo, default), every grid (full, about 1.1 million people in 110102), a few hundred "
            "(small) or none; streets that have buildings already are left alone",
        )

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
        departments = departments_ensure(code)
        self.stdout.write(
            f"Departments: {departments.departments}, handlers: {departments.handlers}, "
            f"responsibility rules: {departments.rules} ({departments.created_rules} new)"
        )
        self._summary(code, time.monotonic() - started)
        if options["population"] != "none":
            self._populate(code, options["population"], options["seed"], options["verbosity"])
        if options["no_cases"] or options["cases"] <= 0:
            return
        existing = Case.objects.filter(region_code__startswith=code).count()
        if existing:
            self.stdout.write(f"District {code} has {existing:,} cases already: generating none.")
            return
        self._generate(code, options["cases"], options["seed"], options["verbosity"])

    def _generate(self, code: str, count: int, seed: int, verbosity: int) -> None:
        self.stdout.write(f"Generating {count:,} cases of the last year for {code} …")
        report = GenerationReport()
        generate_cases(
            code,
            count=count,
            seed=seed,
            report=report,
            progress=lambda message: self.stdout.write(f"  {message}") if verbosity > 1 else None,
        )
        states = ", ".join(f"{n:,} {state}" for state, n in sorted(report.by_state.items()))
        self.stdout.write(
            self.style.SUCCESS(
                f"Cases: {report.cases:,} with {report.events:,} events "
                f"({report.open_cases:,} open; {states}) in {report.seconds:.1f} s"
            )
        )

    def _populate(self, code: str, size: str, seed: int, verbosity: int) -> None:
        self.stdout.write(f"Generating the {size} population of {code} …")
        report = generate_population(
            code,
            size=size,
            seed=seed,
            progress=lambda message: self.stdout.write(f"  {message}") if verbosity > 1 else None,
        )
        if report.streets == 0:
            self.stdout.write("Population: the streets asked for are populated already.")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Population: {report.people:,} people ({report.floating:,} floating) in "
                f"{report.households:,} households, {report.houses:,} houses, "
                f"{report.buildings:,} buildings; {report.organizations:,} organizations, "
                f"{report.components:,} components; {report.streets} street(s) "
                f"({report.skipped_streets} already populated) in {report.seconds:.1f} s"
            )
        )
        phases = ", ".join(f"{phase} {cpu:.1f} s" for phase, cpu in report.phase_cpu.items())
        finish = (
            f"; indexes and foreign keys rebuilt in {report.finish_seconds:.1f} s"
            if report.finish_seconds
            else ""
        )
        self.stdout.write(
            f"  CPU of the planning processes: {phases}; written in {report.write_seconds:.1f} s"
            f"{finish}"
        )

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

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from wangge.regions.services import territory_import


class Command(BaseCommand):
    help = (
        "Import regions and grids from a GeoJSON FeatureCollection (RFC 7946). All or nothing: on "
        "any problem nothing is written, every problem is printed with its feature index, and the "
        "command exits with status 1."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="GeoJSON file, or - for standard input")
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")
        parser.add_argument(
            "--tolerance", type=float, default=None, help="geometry tolerance in metres"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        data = _read_json(options["file"])
        progress = _Progress(self.stderr) if options["verbosity"] >= 1 else None
        report = territory_import(
            data=data,
            actor=None,
            tolerance_m=options["tolerance"],
            dry_run=options["dry_run"],
            progress=progress,
        )
        for warning in report.warnings:
            self.stderr.write(self.style.WARNING(f"warning: {warning}"))
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(self.style.ERROR(str(problem)))
            raise CommandError(
                f"{len(report.problems)} problem(s) found; nothing was written.", returncode=1
            )
        verb = "would import" if report.dry_run else "imported"
        created = ", ".join(f"{n} {kind}" for kind, n in report.created.items() if n)
        updated = ", ".join(f"{n} {kind}" for kind, n in report.updated.items() if n)
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb}: created {created or 'nothing'}; updated {updated or 'nothing'}"
            )
        )


def _read_json(path: Path) -> Any:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"{path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CommandError(f"{path}: not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{path}: line {exc.lineno} column {exc.colno}: {exc.msg}") from None


class _Progress:
    """Prints one line per stage and a running count while writing large files."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.last: tuple[str, int] = ("", -1)

    def __call__(self, stage: str, done: int, total: int) -> None:
        percent = 100 * done // total if total else 100
        if (stage, percent // 10) == self.last:
            return
        self.last = (stage, percent // 10)
        self.stream.write(f"{stage}: {done}/{total} ({percent}%)")

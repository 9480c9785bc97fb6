from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from wangge.regions.geojson import feature_collection_json
from wangge.regions.models import Grid, Region


class Command(BaseCommand):
    help = "Export regions and grids as a GeoJSON FeatureCollection that import_regions reads back."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
        parser.add_argument("--prefix", default="", help="only codes starting with this prefix")
        parser.add_argument(
            "--layer", action="append", default=None, help="grid layer(s) to include (default: all)"
        )
        parser.add_argument("--no-grids", action="store_true", help="regions only")

    def handle(self, *args: Any, **options: Any) -> None:
        prefix = options["prefix"]
        items: list[Any] = list(Region.objects.filter(code__startswith=prefix).order_by("code"))
        if not options["no_grids"]:
            grids = Grid.objects.filter(code__startswith=prefix).order_by("layer_id", "code")
            if options["layer"]:
                grids = grids.filter(layer_id__in=options["layer"])
            items.extend(grids)
        text = feature_collection_json(items)
        if options["output"]:
            options["output"].write_text(text, encoding="utf-8")
            self.stderr.write(f"wrote {len(items)} features to {options['output']}")
        else:
            self.stdout.write(text)

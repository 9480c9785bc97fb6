"""Check a list-append/read history (JSONL) for serializability; see docs/transactions.md."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from wangge.lib.serializability import HistoryFormatError, check, load_history


class Command(BaseCommand):
    help = (
        "Check a JSONL transaction history for serializability. Exit 0: valid; 1: anomalies found "
        "(one witness per class is printed); 2: the file is malformed (the line is named)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="the history, one JSON event per line")
        parser.add_argument("--json", action="store_true", help="print the full result as JSON")
        parser.add_argument(
            "--realtime",
            action="store_true",
            help="add real-time edges: check strict serializability",
        )
        parser.add_argument(
            "--process", action="store_true", help="add per-process (session) order edges"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        try:
            history = load_history(path)
        except HistoryFormatError as exc:
            self.stderr.write(f"{path}: {exc}")
            sys.exit(2)
        except OSError as exc:
            self.stderr.write(f"{path}: {exc.strerror or exc}")
            sys.exit(2)
        result = check(history, realtime=options["realtime"], process=options["process"])
        if options["json"]:
            self.stdout.write(json.dumps(result.to_json(), ensure_ascii=False, indent=2))
        else:
            self.stdout.write(result.explain(limit=1))
        if not result.valid:
            sys.exit(1)

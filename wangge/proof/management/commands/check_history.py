"""Check a list-append/read history (JSONL) for serializability; see docs/transactions.md.

The same checker runs without Django as ``python -m wangge.proof.serializability FILE``."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from wangge.proof.serializability import main


class Command(BaseCommand):
    help = (
        "Check a JSONL transaction history for serializability. Exit 0: valid; 1: anomalies found "
        "(one witness per class is printed); 2: the file is malformed (the line is named). A "
        "history of completions only (no invoke lines) is accepted; real-time order cannot be "
        "inferred from it, and the output says so."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the history, one JSON event per line")
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
        argv = [str(options["file"])]
        argv += [f"--{flag}" for flag in ("json", "realtime", "process") if options[flag]]
        code = main(argv, out=self.stdout, err=self.stderr)
        if code:
            sys.exit(code)

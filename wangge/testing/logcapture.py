"""Every log record of a test run, scanned for full ID and phone numbers.

``watching()`` puts one handler on the root logger (and on every logger that does not propagate)
for the whole session; conftest.py fails the run at its end when any record's formatted message —
exception text included — held a number. Records are scanned as they come and only findings are
kept, so the cost is one regular-expression search per record.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from wangge.testing.piiscan import find_pii


@dataclass
class Finding:
    test: str
    logger: str
    what: list[str]


class PiiLogHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.findings: list[Finding] = []
        self.records = 0
        self.paused = 0

    def emit(self, record: logging.LogRecord) -> None:
        if self.paused:
            return
        self.records += 1
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 — a broken record is the logging module's to report
            return
        if found := find_pii(text):
            test = os.environ.get("PYTEST_CURRENT_TEST", "(outside a test)")
            self.findings.append(Finding(test, record.name, found))

    def report(self) -> str:
        lines = [f"{f.test}: {f.logger} logged {', '.join(f.what)}" for f in self.findings[:20]]
        more = len(self.findings) - 20
        return "\n".join(lines + ([f"… and {more} more"] if more > 0 else []))


_active: PiiLogHandler | None = None


@contextmanager
def watching() -> Iterator[PiiLogHandler]:
    global _active
    handler = PiiLogHandler()
    loggers = [logging.getLogger()] + [
        logger
        for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger) and not logger.propagate
    ]
    for logger in loggers:
        logger.addHandler(handler)
    _active = handler
    try:
        yield handler
    finally:
        _active = None
        for logger in loggers:
            logger.removeHandler(handler)


@contextmanager
def paused() -> Iterator[None]:
    """Leave out the records of a block whose inputs are random (the fuzzer's 404 paths can look
    like phone numbers)."""
    if _active is None:
        yield
        return
    _active.paused += 1
    try:
        yield
    finally:
        _active.paused -= 1

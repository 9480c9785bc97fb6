"""Test support shared by every app's tests: the test district, personas and clients
(``factories``, ``personas``), the PII finder (``piiscan``) and the log watcher (``logcapture``).

Tests of any app and the proof tooling import it; shipped code never does (the import contract in
pyproject.toml holds this). App-specific factories stay beside their app (``cases/tests/factories.py``
…) and build on this package.
"""

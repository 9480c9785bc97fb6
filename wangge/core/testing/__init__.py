"""Test-only helpers that run the product outside the pytest process: a private PostgreSQL
cluster, gunicorn, a prepared site database, SQLite writer processes (the fault tests)."""

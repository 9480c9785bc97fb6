"""The fault kit: helpers that run the product outside the pytest process — a private PostgreSQL
cluster, gunicorn, a prepared site database, HTTP and SQLite load clients (the fault tests)."""

"""The proof floor: tooling that shows the product holds under stress (see docs/architecture.md).

The serializability checker (``serializability``, framework-free), the workload harness
(``workload``), the multi-node ticket model (``multinode``), the fault kit (``faults``: a private
PostgreSQL cluster, gunicorn, a prepared site database, load clients) and the management commands
``workload`` and ``check_history``. It may import every app; no shipped module imports it (the
import contract in pyproject.toml holds this). Its tests are the cross-app fault and security suites.
"""

from django.apps import AppConfig


class ProofConfig(AppConfig):
    """Tooling only: no models, no URLs, nothing in the admin; it brings the ``workload`` and
    ``check_history`` management commands."""

    name = "wangge.proof"
    label = "proof"

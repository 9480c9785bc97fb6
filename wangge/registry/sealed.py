"""Where personal numbers are sealed: every app lists its columns in ``AppConfig.pii_columns``.

An entry is ``(model name, token field, hash field, purpose)``. Key rotation (``pii_reencrypt``)
and a change of the hash key (``pii_rehash``) walk these columns, so an app that stores a sealed
value adds one line to its AppConfig and nothing here imports it (docs/security.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from django.apps import apps
from django.db.models import Model


@dataclass(frozen=True)
class SealedColumn:
    model: type[Model]
    token_field: str
    hash_field: str
    purpose: str

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.token_field}"


def sealed_columns() -> Iterator[SealedColumn]:
    for config in apps.get_app_configs():
        for model_name, token_field, hash_field, purpose in getattr(config, "pii_columns", ()):
            yield SealedColumn(config.get_model(model_name), token_field, hash_field, purpose)

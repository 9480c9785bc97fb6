"""Configuration read from the database and kept in each process.

Officials change categories, time limits and role permissions a few times a year; case intake reads
them on every request. A ``ConfigCache`` keeps what it loaded per key, drops it when a row of one of
its models is saved or deleted in this process (the admin), and loads again once an entry is older
than its recheck setting (seconds), so a change made in another process shows within that time.
Tests set the recheck settings to 0: every read loads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.db.models.signals import m2m_changed, post_delete, post_save

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_ALL: list[ConfigCache[Any, Any]] = []


class ConfigCache(Generic[K, V]):
    def __init__(
        self,
        load: Callable[[K], V],
        *,
        models: Iterable[str],
        m2m: Iterable[str] = (),
        recheck_setting: str,
        default_recheck: float = 30.0,
        max_entries: int = 10_000,
    ) -> None:
        """``models`` and ``m2m`` are "app_label.Model" names (for ``m2m``, the through model)."""
        self._load = load
        self._recheck_setting = recheck_setting
        self._default_recheck = default_recheck
        self._max_entries = max_entries
        self._entries: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()
        for label in models:
            post_save.connect(self._changed, sender=label, weak=False)
            post_delete.connect(self._changed, sender=label, weak=False)
        for label in m2m:
            m2m_changed.connect(self._changed, sender=label, weak=False)
        _ALL.append(self)

    def get(self, key: K) -> V:
        recheck = getattr(settings, self._recheck_setting, self._default_recheck)
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < recheck:
            return entry[1]
        value = self._load(key)
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()
            self._entries[key] = (now, value)
        return value

    def invalidate(self) -> None:
        with self._lock:
            self._entries.clear()

    def forget(self, key: K) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def _changed(self, **_kwargs: Any) -> None:
        self.invalidate()


def invalidate_all() -> None:
    """Forget every cached configuration (tests roll back rows without sending signals)."""
    for cache in _ALL:
        cache.invalidate()

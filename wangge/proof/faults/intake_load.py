"""Intake load for the crash test: client threads that report cases over HTTP, each report with
its own Idempotency-Key, retried (same key) until it is acknowledged, every attempt recorded."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field

from wangge.proof.faults.http import Answer, post_json
from wangge.proof.faults.site import DISTRICT_BOX

CASES_PATH = "/api/v1/cases/"


@dataclass
class Attempt:
    key: str
    answer: Answer


@dataclass
class IntakeLoad:
    port: int
    token: str
    category: int
    clients: int = 4
    retry_pause: float = 0.1
    attempts: list[Attempt] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _give_up: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start(self) -> None:
        for k in range(self.clients):
            thread = threading.Thread(target=self._client, args=(k,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, finish_within: float = 15.0) -> None:
        """No new reports; each client finishes (acknowledges) the one it is on, within limits."""
        self._stop.set()
        deadline = time.monotonic() + finish_within
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._give_up.set()
        for thread in self._threads:
            thread.join(5)

    def _client(self, k: int) -> None:
        rng = random.Random(k)  # noqa: S311 — test data
        n = 0
        while not self._stop.is_set():
            n += 1
            key = f"client{k}-report{n}"
            body = {
                "source": "patrol",
                "category": self.category,
                "description": f"故障测试 {key}",
                "lng": round(rng.uniform(DISTRICT_BOX[0], DISTRICT_BOX[2]), 6),
                "lat": round(rng.uniform(DISTRICT_BOX[1], DISTRICT_BOX[3]), 6),
                "address": "测试路",
            }
            headers = {"Authorization": f"Token {self.token}", "Idempotency-Key": key}
            while not self._give_up.is_set():
                answer = post_json(self.port, CASES_PATH, body, headers=headers, timeout=30)
                with self._lock:
                    self.attempts.append(Attempt(key, answer))
                if answer.status in (200, 201):
                    break
                time.sleep(self.retry_pause)

    def acknowledged(self) -> dict[str, str]:
        """Idempotency key → case number, from every 201 and 200 answer."""
        return {
            a.key: a.answer.json()["number"] for a in self.attempts if a.answer.status in (200, 201)
        }

    def snapshot(self) -> list[Attempt]:
        with self._lock:
            return list(self.attempts)

"""A minimal HTTP client for the fault tests: one request on a fresh loopback connection, every
outcome recorded, nothing retried behind the caller's back."""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass
from typing import Any


@dataclass
class Answer:
    started: float  # time.monotonic() when the request was sent
    ended: float
    status: int | None  # None: no answer (time-out, refused, reset)
    content_type: str = ""
    body: bytes = b""
    error: str = ""  # the transport error when there was no answer

    def json(self) -> Any:
        return json.loads(self.body)


def post_json(
    port: int,
    path: str,
    body: dict[str, Any],
    *,
    headers: dict[str, str] | None = None,
    timeout: float = 10.0,
    host: str = "127.0.0.1",
) -> Answer:
    payload = json.dumps(body, ensure_ascii=False).encode()
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    started = time.monotonic()
    try:
        conn.request(
            "POST",
            path,
            body=payload,
            headers={
                "Content-Type": "application/json",
                "Host": f"{host}:{port}",
                **(headers or {}),
            },
        )
        response = conn.getresponse()
        data = response.read()
        return Answer(
            started, time.monotonic(), response.status, response.getheader("Content-Type", ""), data
        )
    except (OSError, http.client.HTTPException) as exc:
        return Answer(started, time.monotonic(), None, error=f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()

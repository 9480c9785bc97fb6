"""Strict readers for settings taken from the environment.

Each reader names the variable in its error so that a wrong value stops the process at start with a
message an operator can act on. A variable ``NAME_FILE`` may hold the path of a file with the value
(for secrets mounted by an orchestrator), as healthchecks' ``envsecret`` does.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


class EnvError(ValueError):
    """A variable of the environment has a value the program cannot use."""


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    environ = os.environ if environ is None else environ
    file_name = environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise EnvError(f"{name}_FILE: cannot read {file_name!r}: {exc.strerror}") from exc
    return environ.get(name)


def env_str(
    name: str, default: str | None = None, *, environ: Mapping[str, str] | None = None
) -> str:
    value = _raw(name, environ)
    if value is None:
        if default is None:
            raise EnvError(f"{name} is required but not set.")
        return default
    return value


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    value = _raw(name, environ)
    if value is None:
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise EnvError(
        f"{name}={value!r} is not a boolean; use one of 1/0, true/false, yes/no, on/off."
    )


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = int(value.strip())
    except ValueError:
        raise EnvError(f"{name}={value!r} is not an integer.") from None
    _check_range(name, number, minimum, maximum)
    return number


def env_float(
    name: str,
    default: float,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> float:
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = float(value.strip())
    except ValueError:
        raise EnvError(f"{name}={value!r} is not a number.") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise EnvError(f"{name}={value!r} is not a finite number.")
    _check_range(name, number, minimum, maximum)
    return number


def env_list(
    name: str, default: list[str], *, environ: Mapping[str, str] | None = None
) -> list[str]:
    value = _raw(name, environ)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def env_choice(
    name: str, default: str, choices: tuple[str, ...], *, environ: Mapping[str, str] | None = None
) -> str:
    value = env_str(name, default, environ=environ).strip()
    if value not in choices:
        raise EnvError(f"{name}={value!r} is not one of: {', '.join(choices)}.")
    return value


def _check_range(name: str, number: float, minimum: float | None, maximum: float | None) -> None:
    if minimum is not None and number < minimum:
        raise EnvError(f"{name}={number} is below the minimum {minimum}.")
    if maximum is not None and number > maximum:
        raise EnvError(f"{name}={number} is above the maximum {maximum}.")


def env_ip_networks(
    name: str, default: list[str], *, environ: Mapping[str, str] | None = None
) -> list[str]:
    """Comma-separated IP addresses or CIDR networks (``127.0.0.1,10.0.0.0/8,::1``), normalized."""
    networks = []
    for item in env_list(name, default, environ=environ):
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise EnvError(f"{name}: {item!r} is not an IP address or network.") from None
    return networks

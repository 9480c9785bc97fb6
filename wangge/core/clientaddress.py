"""The address of the client that sent a request, as every control that counts per client sees it.

Login lockouts (django-axes, through ``AXES_CLIENT_IP_CALLABLE``), the audit rows of sign-in events
and the self-registration rate limit all ask :func:`client_address`, so they agree on who the
client is.

Without a proxy the client is the peer of the connection (``REMOTE_ADDR``). Behind nginx every
request comes from nginx, and the client is in ``X-Forwarded-For``, which nginx extends with the
address it saw (``$proxy_add_x_forwarded_for``). That header is believed only when the peer is
one of ``WANGGE_TRUSTED_PROXIES``: anyone else could write any address into it. Read from the
right, each hop that is a trusted proxy vouches for the one before it; the first hop that is not
a trusted proxy is the client. What lies further left is whatever the client itself sent.

(django-ipware, axes' optional resolver, reads only the header's contents and never asks who sent
it, so a client reaching the app server directly could choose its own address; hence this module.)
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from typing import Any

from django.conf import settings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address(request: Any) -> str:
    """The client's IP address for ``request`` (an HttpRequest or a DRF Request); "" if none."""
    if request is None:
        return ""
    meta = getattr(request, "META", None) or {}
    peer_text = str(meta.get("REMOTE_ADDR", "") or "").strip()
    peer = _parse(peer_text)
    proxies = _networks(tuple(settings.WANGGE_TRUSTED_PROXIES))
    if peer is None or not _trusted(peer, proxies):
        return str(peer) if peer is not None else peer_text
    forwarded = str(meta.get("HTTP_X_FORWARDED_FOR", "") or "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        address = _parse(hop)
        if address is None:
            break  # a trusted proxy would not have written this: keep the last hop vouched for
        client = address
        if not _trusted(address, proxies):
            break
    return str(client)


def _parse(text: str) -> IpAddress | None:
    """An address as proxies write it: ``1.2.3.4``, ``1.2.3.4:5678``, ``::1`` or ``[::1]:5678``."""
    if not text:
        return None
    candidates = [text]
    if text.startswith("[") and "]" in text:
        candidates.append(text[1 : text.index("]")])
    elif text.count(":") == 1:
        candidates.append(text.split(":", 1)[0])
    for candidate in candidates:
        try:
            address = ipaddress.ip_address(candidate)
        except ValueError:
            continue
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            return address.ipv4_mapped
        return address
    return None


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[IpNetwork, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _trusted(address: IpAddress, proxies: tuple[IpNetwork, ...]) -> bool:
    return any(address.version == network.version and address in network for network in proxies)

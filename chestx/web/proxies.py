"""Which address a request comes from, believing proxy headers only from configured proxies.

Contract: :class:`TrustedProxies` holds the networks of the reverse proxies in front of the app
(``CHESTX_TRUSTED_PROXIES``; none by default). :meth:`TrustedProxies.client` is the peer address
of the connection unless that peer is a trusted proxy, in which case ``X-Forwarded-For`` is read
from the right (the entry the nearest proxy appended) past every trusted proxy, and the first
address that is not one is the client. A client naming itself in ``X-Forwarded-For`` therefore
changes nothing unless it *is* a trusted proxy. The middleware stores the answer in the request's
state (:func:`client_of` reads it) for the login throttle and the access log.

The ASGI server must not rewrite the peer address itself: :mod:`chestx.web.launch` runs uvicorn
with ``proxy_headers=False`` (uvicorn's default believes ``X-Forwarded-For`` from 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

STATE_KEY = "chestx_client"
UNKNOWN = "unknown"  # no peer address (a Unix socket, an in-process test transport)
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """The proxies whose ``X-Forwarded-For`` is believed (addresses or CIDRs)."""

    def __init__(self, networks: Iterable[str] = ()) -> None:
        self.networks: tuple[_Network, ...] = tuple(ipaddress.ip_network(n, strict=False) for n in networks)

    def trusts(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client(self, scope: dict) -> str:
        """The client's address for an ASGI ``scope`` (see the module docstring)."""
        peer = (scope.get("client") or (UNKNOWN,))[0] or UNKNOWN
        if not self.networks or not self.trusts(peer):
            return peer
        hops = _forwarded_for(scope.get("headers", ()))
        address = peer
        while hops and self.trusts(address):
            candidate = _address(hops.pop())
            if candidate is None:  # not an address: the nearest trusted hop is all that is known
                break
            address = candidate
        return address


def _address(entry: str) -> str | None:
    """An ``X-Forwarded-For`` entry as an address ("1.2.3.4", "1.2.3.4:80", "[::1]:80", "::1")."""
    host = entry
    if entry.startswith("["):
        host = entry[1:].partition("]")[0]
    elif entry.count(":") == 1:
        host = entry.partition(":")[0]
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def _forwarded_for(headers: Iterable[tuple[bytes, bytes]]) -> list[str]:
    """Every ``X-Forwarded-For`` entry, in order (several headers are one list, RFC 7230)."""
    hops: list[str] = []
    for key, value in headers:
        if key.lower() == b"x-forwarded-for":
            hops += [h.strip() for h in value.decode("latin-1").split(",") if h.strip()]
    return hops


def client_of(scope: dict) -> str:
    """The client address the middleware found for this request (the peer when it did not run)."""
    found = (scope.get("state") or {}).get(STATE_KEY)
    return found if found is not None else TrustedProxies().client(scope)

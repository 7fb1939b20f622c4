"""Where the server may send requests on a user's behalf (webhook deliveries).

A webhook URL is chosen by a user, and the server then connects to it: without a rule, to
its own port, its database, a cloud's metadata service (169.254.169.254) or anything else
on its private network. So every address a webhook host resolves to must be public
(``ipaddress``'s ``is_global``), unless an operator allows its range
(``MODELYARD_WEBHOOK_ALLOW``). The check runs when a webhook is created and again before
every delivery, whose connection then goes to the very address that was checked (a name
that resolves differently a moment later cannot slip past).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from modelyard.domain.errors import InvalidInput

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_ranges(text: str) -> tuple[Network, ...]:
    """``"10.0.0.0/8, 127.0.0.1"`` → networks; ``ValueError`` naming a bad one."""
    ranges = []
    for part in text.split(","):
        if part.strip():
            try:
                ranges.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise ValueError(f"{part.strip()!r} is not an address range (CIDR)") from None
    return tuple(ranges)


def _kind(address: Address) -> str:
    for kind in ("loopback", "unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return "non-public"


class Egress:
    def __init__(self, allowed: Iterable[Network] = ()) -> None:
        self.allowed = tuple(allowed)

    @classmethod
    def from_text(cls, text: str) -> Egress:
        return cls(parse_ranges(text))

    def refuse(self, host: str, port: int) -> None:
        """When a webhook is created: ``InvalidInput`` if ``host`` resolves to an address
        it may not reach. A name that does not resolve yet passes (each delivery resolves
        it again, and cannot reach anything until it does)."""
        try:
            self.address(host, port)
        except InvalidInput as e:
            if not e.details.get("unresolved"):
                raise

    def address(self, host: str, port: int) -> str:
        """The address to connect to for ``host``: every address it resolves to must be
        public or allowed (``InvalidInput`` names the first that is not)."""
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as e:
            reason = getattr(e, "strerror", None) or str(e)
            raise InvalidInput(
                f"cannot resolve webhook host {host!r}: {reason}", host=host, unresolved=True
            ) from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
        for address in addresses:
            self.check(host, address)
        return str(addresses[0])

    def check(self, host: str, address: Address) -> None:
        plain = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        seen = plain or address
        if seen.is_global and not seen.is_multicast:
            return
        if any(seen in network for network in self.allowed):
            return
        kind = _kind(seen)
        article = "an" if kind[0] in "aeiou" else "a"
        raise InvalidInput(
            f"webhook host {host!r} is {seen}, {article} {kind} address: webhooks reach public "
            "addresses only, unless MODELYARD_WEBHOOK_ALLOW names its range",
            host=host,
        )

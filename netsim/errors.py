"""The netsim exception tree.

Every error netsim raises on purpose derives from :class:`NetsimError`, so callers can catch the
library's errors without catching their own bugs.  Errors about bytes from the network are
:class:`WireError` (also a :class:`ValueError`), raised only by ``parse`` functions; devices
catch them, count the drop with its reason and carry on, as a kernel does.
"""

from __future__ import annotations


class NetsimError(Exception):
    """Base class of every error netsim raises on purpose."""


class WireError(NetsimError, ValueError):
    """Bytes that do not decode as the protocol says.

    ``layer`` names the protocol (``"ipv4"``), ``field`` the header field at fault
    (``"total_length"``); ``str(err)`` reads ``"ipv4.total_length: 84 > 60 bytes available"``.
    ``reason`` is a short stable token used as a drop reason in counters and traces.
    """

    reason = "malformed"

    def __init__(self, layer: str, field: str, message: str) -> None:
        super().__init__(f"{layer}.{field}: {message}")
        self.layer = layer
        self.field = field
        self.message = message


class TruncatedError(WireError):
    """Fewer bytes than a header or a length field says there are."""

    reason = "truncated"


class ChecksumError(WireError):
    """A checksum that does not verify (raised only when verification was asked for)."""

    reason = "bad-checksum"

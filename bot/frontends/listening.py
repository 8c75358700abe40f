"""Checks that a front end can listen where it is told to, before it registers anywhere or loads models."""

from __future__ import annotations

import errno
import socket

from bot.errors import ConfigError

# What an operator can change about each refusal; anything else is not about the address.
_ADDRESS_PROBLEMS = (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES)


def port_refusal(host: str, port: int, error: OSError) -> ConfigError:
    """The one-line message for an address the front end can't listen on."""
    return ConfigError(
        f"Can't listen on {host}:{port} ({error.strerror or error}): another process may use the port; "
        "choose another with --port, or --host."
    )


def check_port(host: str, port: int) -> None:
    """Raise a `ConfigError` if nothing could listen on `host:port` now."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno not in _ADDRESS_PROBLEMS and not isinstance(error, socket.gaierror):
                raise
            raise port_refusal(host, port, error) from None

"""What the Application opens at start: accounts, tokens and encrypted credentials, all in
<data_dir>/flowengine.db, and the rule for binding beyond loopback."""

from __future__ import annotations

import ipaddress
from typing import Any

from .secrets import CredentialStore, KeySource, SecretKeyError
from .users import UserStore

DB_FILE = "flowengine.db"  # the same file as the revisions


class SecurityError(Exception):
    """Security forbids starting as configured (the message says why and what to do)."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name could resolve anywhere


class Security:
    def __init__(self, settings: Any):
        db = settings.data_dir / DB_FILE
        self.settings = settings
        self.users = UserStore(db)
        self.credentials = CredentialStore(db, KeySource(getattr(settings, "secret_key_file", None),
                                                         settings.data_dir))

    async def open(self) -> None:
        """Open the stores; SecurityError when the secret key cannot decrypt the stored credentials."""
        await self.users.open()
        try:
            await self.credentials.open()
        except SecretKeyError as exc:
            raise SecurityError(str(exc)) from exc

    async def close(self) -> None:
        await self.credentials.close()
        await self.users.close()

    async def check_bind(self, host: str) -> None:
        """A non-loopback bind only once an admin account exists: without one the API is open."""
        if is_loopback(host) or await self.users.count_admins() > 0:
            return
        raise SecurityError(f"refusing to listen on {host}: there is no admin account, so the API would be open "
                            "to anyone who can reach it. Create one with `flowengine user add NAME` "
                            "(role admin), or bind 127.0.0.1 (the default)")

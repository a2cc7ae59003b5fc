"""Security by default: accounts and API tokens, secrets encrypted at rest, the bind rule."""

from .secrets import CredentialStore, KeySource, SecretBox, SecretKeyError
from .service import Security, SecurityError, is_loopback
from .users import ROLES, SCOPES, AccountError, IssuedToken, Token, User, UserStore

__all__ = ["ROLES", "SCOPES", "AccountError", "CredentialStore", "IssuedToken", "KeySource", "SecretBox",
           "SecretKeyError", "Security", "SecurityError", "Token", "User", "UserStore", "is_loopback"]

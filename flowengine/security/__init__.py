"""Security by default: accounts and API tokens, secrets encrypted at rest, the bind rule."""

from .secrets import CredentialStore, KeySource, SecretBox, SecretKeyError
from .service import Security, SecurityError, is_loopback
from .users import ROLES, SCOPES, AccountError, AccountExists, IssuedToken, Token, User, UserStore

__all__ = ["ROLES", "SCOPES", "AccountError", "AccountExists", "CredentialStore", "IssuedToken", "KeySource",
           "SecretBox", "SecretKeyError", "Security", "SecurityError", "Token", "User", "UserStore", "is_loopback"]

"""Node-RED's credentials file (`flows_cred.json`), read so an exported project keeps its secrets.

Node-RED keeps node secrets apart from the flows, keyed by node id. With a credential secret
the whole object is encrypted: AES-256-CTR, key = SHA-256(secret), a random 16-byte IV, stored
as `{"$": hex(iv) + base64(ciphertext of the JSON)}`. Without one it is plain JSON.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any


class CredentialsError(ValueError):
    """The credentials file cannot be read: wrong secret, or not Node-RED's format."""


def credentials_path(flows_path: Path) -> Path:
    """Node-RED's name for the credentials of `flows.json`: `flows_cred.json` beside it."""
    return flows_path.with_name(f"{flows_path.stem}_cred{flows_path.suffix or '.json'}")


def decrypt(blob: str, secret: str) -> dict[str, Any]:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # deferred: heavy

    if len(blob) < 33:
        raise CredentialsError("encrypted credentials are too short")
    try:
        iv = bytes.fromhex(blob[:32])
        data = base64.b64decode(blob[32:])
    except ValueError as exc:
        raise CredentialsError(f"encrypted credentials are malformed: {exc}") from exc
    key = hashlib.sha256(secret.encode("utf-8")).digest()
    plain = Cipher(algorithms.AES(key), modes.CTR(iv)).decryptor().update(data)
    try:
        result = json.loads(plain.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise CredentialsError("cannot decrypt the credentials: wrong credential secret?") from exc
    if not isinstance(result, dict):
        raise CredentialsError("decrypted credentials are not an object")
    return result


def encrypt(creds: dict[str, Any], secret: str, iv: bytes) -> dict[str, str]:
    """The inverse of `decrypt` (for exports to Node-RED and for tests)."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = hashlib.sha256(secret.encode("utf-8")).digest()
    data = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor().update(json.dumps(creds).encode("utf-8"))
    return {"$": iv.hex() + base64.b64encode(data).decode("ascii")}


def load_credentials(path: Path, secret: str | None) -> dict[str, dict[str, Any]]:
    """Credentials by node id from a Node-RED credentials file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CredentialsError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise CredentialsError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise CredentialsError(f"{path} must hold a JSON object")
    if set(raw) == {"$"}:
        if not secret:
            raise CredentialsError(f"{path} is encrypted: set the credential secret "
                                   "(FLOWENGINE_CREDENTIAL_SECRET, Node-RED's credentialSecret)")
        raw = decrypt(raw["$"], secret)
    return {k: v for k, v in raw.items() if isinstance(v, dict)}

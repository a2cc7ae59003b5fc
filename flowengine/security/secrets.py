"""Secret values encrypted at rest (AES-256-GCM) with a key kept outside the data dir.

The key comes from $FLOWENGINE_SECRET_KEY (base64 of 32 bytes), else from the `secret_key_file`
setting (default ~/.config/flowengine/secret.key, created 0600 the first time a secret is
stored). Keeping it apart from <data_dir> means a copied data dir or backup does not carry the
means to read its own credentials. A known check value is encrypted with the key when it is
first used: opening the store with another key fails at start with a clear error, instead of
credentials silently turning empty.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..settings import default_secret_key_file
from ..storage.db import SqliteFile

log = logging.getLogger("flowengine.security")

KEY_ENV = "FLOWENGINE_SECRET_KEY"
KEY_BYTES = 32
NONCE_BYTES = 12  # the standard GCM nonce; random per encryption (2^-32 collision bound far beyond our volume)
_CHECK_PLAINTEXT = b"flowengine secret key check v1"
_CHECK_AAD = b"flowengine:key-check"
_GENERATE_HINT = "generate one with: head -c 32 /dev/urandom | base64"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS credentials (
    node_id TEXT NOT NULL,
    field TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (node_id, field)
);
CREATE TABLE IF NOT EXISTS secret_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
"""


class SecretKeyError(Exception):
    """The secret key is missing, malformed, misplaced, or not the one the data was encrypted with."""


def generate_key() -> bytes:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # deferred: heavy, and startup stays light

    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def _decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.b64decode(text.strip().replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SecretKeyError(f"{source} is not valid base64; {_GENERATE_HINT}") from exc
    if len(key) != KEY_BYTES:
        raise SecretKeyError(f"{source} must hold {KEY_BYTES} bytes (base64), not {len(key)}; {_GENERATE_HINT}")
    return key


class SecretBox:
    """AES-256-GCM with a random nonce; the output is nonce + ciphertext (with its tag)."""

    def __init__(self, key: bytes, source: str = "the secret key"):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # deferred: only when a secret is used

        if len(key) != KEY_BYTES:
            raise SecretKeyError(f"{source} must be {KEY_BYTES} bytes")
        self._aead = AESGCM(key)
        self.source = source

    def __repr__(self) -> str:
        return f"SecretBox(from {self.source})"  # never the key

    def encrypt(self, plaintext: bytes, aad: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def decrypt(self, blob: bytes, aad: bytes) -> bytes:
        """The plaintext; SecretKeyError when the key is wrong or the blob/aad were tampered with."""
        if len(blob) < NONCE_BYTES + 16:
            raise SecretKeyError("an encrypted value is truncated")
        from cryptography.exceptions import InvalidTag

        try:
            return self._aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag as exc:
            raise SecretKeyError(f"cannot decrypt with {self.source}: wrong key, or the data was altered") from exc


class KeySource:
    """Where the key comes from; read (or created) only when a secret is stored or read."""

    def __init__(self, key_file: Path | None, data_dir: Path, environ: Mapping[str, str] | None = None):
        self.key_file = Path(key_file).expanduser() if key_file is not None else default_secret_key_file()
        self.data_dir = Path(data_dir)
        self._environ = os.environ if environ is None else environ

    def describe(self) -> str:
        return f"${KEY_ENV}" if self._environ.get(KEY_ENV) else str(self.key_file)

    def load(self, create: bool) -> SecretBox:
        env = self._environ.get(KEY_ENV)
        if env:
            return SecretBox(_decode_key(env, f"${KEY_ENV}"), f"${KEY_ENV}")
        path = self.key_file.resolve()
        if path.is_relative_to(self.data_dir.resolve()):
            raise SecretKeyError(f"the secret key file {path} is inside the data dir {self.data_dir}: keep it "
                                 "elsewhere (set secret_key_file, or $FLOWENGINE_SECRET_KEY), so that a copy of "
                                 "the data dir does not carry the key to its own credentials")
        if not path.exists():
            if not create:
                raise SecretKeyError(f"the secret key file {path} is missing, but credentials were encrypted with "
                                     f"a key: restore the file, or set ${KEY_ENV} to that key")
            return SecretBox(self._create(path), str(path))
        mode = path.stat().st_mode & 0o777
        if os.name == "posix" and mode & 0o077:
            raise SecretKeyError(f"the secret key file {path} can be read by other users (mode {mode:o}): "
                                 f"chmod 600 {path}")
        return SecretBox(_decode_key(path.read_text(encoding="ascii"), str(path)), str(path))

    @staticmethod
    def _create(path: Path) -> bytes:
        key = generate_key()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # O_EXCL: never follow a planted symlink or overwrite a key another process just wrote.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as fh:
            fh.write(base64.b64encode(key).decode("ascii") + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        log.warning("created the secret key %s: back it up, the stored credentials cannot be read without it", path)
        return key


def _aad(node_id: str, field: str) -> bytes:
    # Binds each ciphertext to its row: a value moved to another node or field fails to decrypt.
    return b"flowengine:cred\x00" + node_id.encode("utf-8") + b"\x00" + field.encode("utf-8")


class CredentialStore(SqliteFile):
    """Node credentials by node id, each field encrypted on its own, in <data_dir>/flowengine.db."""

    schema = _SCHEMA

    def __init__(self, path: Path, keys: KeySource):
        super().__init__(path)
        self.keys = keys
        self._box: SecretBox | None = None

    async def open(self) -> None:
        """Open the table; when secrets were stored before, load the key now and prove it is the
        right one (SecretKeyError otherwise), so a wrong key stops the start."""
        await self.connect()
        check = await self._check_value()
        if check is None:
            return  # nothing encrypted yet: the key is only needed (or created) by the first put()
        try:
            box = self.keys.load(create=False)
            if box.decrypt(check, _CHECK_AAD) != _CHECK_PLAINTEXT:
                raise SecretKeyError("the key check value is wrong")
        except SecretKeyError as exc:
            await self.close()
            raise SecretKeyError(f"the credentials in {self.path} cannot be decrypted with the key from "
                                 f"{self.keys.describe()}: it is not the key they were stored with ({exc}). "
                                 f"Restore that key (${KEY_ENV} or the secret_key_file setting)") from exc
        self._box = box


    async def _check_value(self) -> bytes | None:
        async with self._db.execute("SELECT value FROM secret_meta WHERE key = 'check'") as cur:
            row = await cur.fetchone()
        return bytes(row[0]) if row else None

    async def _cipher(self) -> SecretBox:
        if self._box is None:
            box = self.keys.load(create=True)
            await self._db.execute("INSERT OR REPLACE INTO secret_meta (key, value) VALUES ('check', ?)",
                                   (box.encrypt(_CHECK_PLAINTEXT, _CHECK_AAD),))
            await self._db.commit()
            self._box = box
        return self._box

    async def ensure_key(self) -> None:
        """Load (or create) the key now, so that a later put() does not fail on it."""
        await self._cipher()

    async def put(self, node_id: str, values: dict[str, Any]) -> None:
        """Replace the credentials of one node (JSON values; an empty dict deletes them)."""
        box = await self._cipher()
        rows = [(node_id, field, box.encrypt(json.dumps(value).encode("utf-8"), _aad(node_id, field)))
                for field, value in values.items()]
        await self._db.execute("DELETE FROM credentials WHERE node_id = ?", (node_id,))
        await self._db.executemany("INSERT INTO credentials (node_id, field, value) VALUES (?, ?, ?)", rows)
        await self._db.commit()

    async def get_all(self) -> dict[str, dict[str, Any]]:
        async with self._db.execute("SELECT node_id, field, value FROM credentials ORDER BY node_id") as cur:
            rows = await cur.fetchall()
        if not rows:
            return {}
        box = await self._cipher()
        out: dict[str, dict[str, Any]] = {}
        for node_id, field, blob in rows:
            out.setdefault(node_id, {})[field] = json.loads(box.decrypt(bytes(blob), _aad(node_id, field)))
        return out

    async def node_ids(self) -> set[str]:
        """The ids of the nodes that have stored credentials (nothing is decrypted)."""
        async with self._db.execute("SELECT DISTINCT node_id FROM credentials") as cur:
            return {row[0] for row in await cur.fetchall()}

    async def delete(self, node_id: str) -> None:
        await self._db.execute("DELETE FROM credentials WHERE node_id = ?", (node_id,))
        await self._db.commit()

    async def get_meta(self, key: str) -> bytes | None:
        """A bookkeeping value kept beside the credentials (not encrypted: never a secret)."""
        if key == "check":
            raise ValueError("'check' is the key check value, not a meta entry")
        async with self._db.execute("SELECT value FROM secret_meta WHERE key = ?", (key,)) as cur:
            row = await cur.fetchone()
        return bytes(row[0]) if row else None

    async def set_meta(self, key: str, value: bytes) -> None:
        if key == "check":
            raise ValueError("'check' is the key check value, not a meta entry")
        await self._db.execute("INSERT OR REPLACE INTO secret_meta (key, value) VALUES (?, ?)", (key, value))
        await self._db.commit()

"""Settings: defaults < `--config` TOML file < FLOWENGINE_* environment < command-line flags."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


def default_data_dir() -> Path:
    return Path(os.environ.get("FLOWENGINE_DATA_DIR") or Path.home() / ".flowengine")


def default_secret_key_file() -> Path:
    # Outside the data dir on purpose: a copy of the data dir must not carry the key to its secrets.
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "flowengine" / "secret.key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLOWENGINE_", extra="forbid")

    data_dir: Path = Field(default_factory=default_data_dir, description="Where flows, context and state live")
    host: str = Field("127.0.0.1", description="Address the server binds (loopback by default)")
    port: int = Field(1880, ge=0, le=65535, description="Server port; 0 picks a free one")
    safe: bool = Field(False, description="Start without running the flows (safe mode)")
    event_loop: str = Field("auto", pattern="^(auto|uvloop|asyncio)$",
                            description="auto (uvloop when installed), uvloop or asyncio")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    inbox_capacity: int = Field(64, ge=1, le=100_000, description="Messages a node's inbox holds before senders wait")
    code_nodes: bool = Field(True, description="Allow python-function nodes to run code")
    function_timeout: float = Field(10.0, ge=0, description="Default python-function timeout, seconds (0 = none)")
    function_init_timeout: float = Field(60.0, gt=0, description="Seconds a python-function's initialize "
                                                                  "code may run")
    context_default_store: str = Field("memory", description="Context store used when a key names none")
    context_flush_interval: float = Field(0.1, gt=0, le=60, description="Seconds before persistent context "
                                                                        "changes reach disk")
    max_buffered: int = Field(10_000, ge=0, description="messages a node may hold (delay, join, sort, batch); "
                                                         "0 = unlimited")
    credential_secret: str | None = Field(None, description="Node-RED's credentialSecret, to read an "
                                                            "encrypted flows_cred.json beside the flows file")
    drain_timeout: float = Field(2.0, ge=0, description="Seconds a shutdown lets messages in flight finish")
    stop_timeout: float = Field(5.0, gt=0, description="Seconds each node gets to stop")
    secret_key_file: Path = Field(default_factory=default_secret_key_file,
                                  description="Key that encrypts stored credentials (not inside data_dir; "
                                              "$FLOWENGINE_SECRET_KEY wins)")
    session_ttl: float = Field(12 * 3600.0, gt=0, description="Seconds a login session lasts")
    editor_dir: Path | None = Field(None, description="Serve the editor from this built directory instead of "
                                                      "the packaged one (editor development)")

    @field_validator("log_level")
    @classmethod
    def _level(cls, v: str) -> str:
        v = v.upper()
        if v not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("log_level must be DEBUG, INFO, WARNING or ERROR")
        return v

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource) -> tuple:
        # init (CLI flags) > environment > TOML (passed as init defaults by `load`)
        return (init_settings, env_settings)


def load_settings(config_file: Path | None = None, **flags: Any) -> Settings:
    """Build Settings from a TOML file, the environment and flags (None flags are ignored)."""
    file_values: dict[str, Any] = {}
    if config_file is not None:
        with open(config_file, "rb") as fh:
            file_values = tomllib.load(fh)
        file_values = file_values.get("flowengine", file_values)
    cli = {k: v for k, v in flags.items() if v is not None}
    env_keys = {k[len("FLOWENGINE_"):].lower() for k in os.environ if k.startswith("FLOWENGINE_")}
    merged = {k: v for k, v in file_values.items() if k not in env_keys}
    merged.update(cli)
    return Settings(**merged)

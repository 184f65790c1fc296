"""Settings from the environment (``DUALDUTY_*``) and an optional ``dualduty.toml``.

The embedded default needs no configuration at all: a SQLite file in the working folder.
Production sets ``DUALDUTY_DATABASE_URL=postgresql+psycopg2://…``. Channel secrets are never
settings values: channels name the environment variables that hold them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_FILE = "dualduty.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DUALDUTY_", toml_file=CONFIG_FILE, extra="forbid", validate_default=True
    )

    database_url: str = Field(
        default="sqlite:///dualduty.db",
        description="SQLAlchemy URL. Default: a SQLite file in the working folder.",
    )
    data_dir: Path = Field(
        default=Path(".dualduty"),
        description="Working files: columnar evidence cache, attachments, lock files.",
    )
    timezone: str = "Asia/Shanghai"
    console_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Public address of the console; messages link to cases here.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(""),
        description="Signs console sessions. Empty: a random key per process (sessions die on restart).",
    )
    holidays_file: Path | None = Field(
        default=None,
        description="Extra holidays/workdays (YAML) for years the calendar library does not know.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments > environment > dualduty.toml.
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls))


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

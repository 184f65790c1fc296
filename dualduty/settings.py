"""Settings from the environment (``DUALDUTY_*``) and an optional ``dualduty.toml``.

The embedded default needs no configuration at all: a SQLite file in the working folder.
Production sets ``DUALDUTY_DATABASE_URL=postgresql+psycopg2://…``. Channel secrets are never
settings values: channels name the environment variables that hold them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from dualduty.errors import UserError
from dualduty.problems import Problem

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
    evaluation_memory_mib: int = Field(
        default=128,
        ge=16,
        description="DuckDB's memory cap for an inspection's evaluation, MiB: past it, joins, "
        "aggregates and sorts spill to disk; a query that cannot spill runs again with twice the "
        "cap, up to half of the machine's memory (docs/evidence.md, Memory).",
    )
    reports_dir: Path | None = Field(
        default=None,
        description="Scheduled assessments write their HTML and XLSX reports here. "
        "Default: <data_dir>/reports.",
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
    # Notification channels (issue #5). Secrets are not here: the file names their env vars.
    channels_file: Path = Field(
        default=Path("channels.yaml"),
        description="Channels file (YAML). Missing at the default path: the in-app inbox only.",
    )
    # Console accounts and sessions (issue #6). Tests lower the argon2 cost to stay fast.
    password_hash_time_cost: int = Field(default=3, ge=1, description="argon2id iterations.")
    password_hash_memory_kib: int = Field(
        default=65536, ge=8, description="argon2id memory per hash, KiB (64 MiB by default)."
    )
    session_hours: float = Field(
        default=8.0, gt=0, description="A console login lasts this long (one working day)."
    )
    login_window_minutes: int = Field(
        default=15, ge=1, description="Failed logins are counted over this window."
    )
    login_max_failures_per_user: int = Field(
        default=5, ge=1, description="Failed logins for one username within the window."
    )
    login_max_failures_per_ip: int = Field(
        default=20, ge=1, description="Failed logins from one address within the window."
    )
    upload_max_mb: float = Field(
        default=20.0, gt=0, description="Largest attachment (rectification report) accepted."
    )
    # Recusal (回避) by declared relatives: personal-matters reports (个人有关事项报告, B12)
    # stored as evidence. Defaults: the sample integrity pack's `relative` type.
    relatives_type: str = Field(
        default="relative",
        description="Evidence type of the relatives declarations. Empty: no recusal by relatives.",
    )
    relatives_declarant_field: str = Field(
        default="cadre", description="Field holding the declarant's person code (工号)."
    )
    relatives_person_field: str = Field(
        default="", description="Field holding the relative's person code, if declared."
    )
    relatives_name_field: str = Field(
        default="name",
        description="Field holding the relative's name, matched against people's names "
        "when the declaration gives no person code.",
    )

    @property
    def assessment_reports_dir(self) -> Path:
        return self.reports_dir or self.data_dir / "reports"

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _parseable_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except ArgumentError:
            raise ValueError(
                "not a database URL (sqlite:///dualduty.db or postgresql+psycopg2://user@host/db)"
            ) from None
        return value

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
    """The settings, or a UserError naming each bad setting and where settings come from."""
    try:
        return Settings()
    except ValidationError as error:
        raise UserError(
            [
                Problem(
                    message=f"配置错误 / bad setting: {item['msg']}",
                    field=".".join(str(part) for part in item["loc"]) or None,
                    hint=(
                        "settings come from DUALDUTY_* environment variables and "
                        f"{CONFIG_FILE} (keys: the setting names in lower case, e.g. "
                        'database_url = "sqlite:///dualduty.db")'
                    ),
                )
                for item in error.errors()
            ]
        ) from None

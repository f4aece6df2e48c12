"""All settings in one typed class, read from RAPPORT_* environment variables and `.env`."""

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from storage.privacy import Retention

TELEGRAM_API_URL = "https://api.telegram.org"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///var/rapport.sqlite3"
ENV_PREFIX = "RAPPORT_"


class Settings(BaseSettings):
    """Rapport's settings. Tests build one from a plain mapping: `Settings(**values)`."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", validate_default=True
    )

    bot_token: SecretStr | None = None
    api_url: str = TELEGRAM_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    brand_dir: Path | None = None
    admin_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    # Support staff besides the admins (members of the staff chat count too).
    staff_ids: Annotated[list[int], NoDecode] = Field(default_factory=list)
    staff_chat_id: int | None = None

    webhook_url: str | None = None  # the public https URL Telegram posts to
    webhook_host: str = "0.0.0.0"  # noqa: S104  (a webhook server must listen publicly)
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    webhook_path: str = "/telegram/webhook"
    webhook_secret: SecretStr | None = None

    max_concurrent_updates: int = Field(default=8, ge=1, le=256)
    inbox_max_backlog: int = Field(default=1000, ge=10)
    polling_timeout: int = Field(default=25, ge=0, le=50)
    # Proactive messages a second; Telegram allows about 30 (up to 1000 with paid broadcasts).
    send_rate: float = Field(default=30.0, gt=0, le=1000)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # Retention, enforced daily (0 = keep for ever): message texts, keyword hits, and the
    # raw Telegram updates kept after handling (they guard against late repeats).
    retention_message_text_days: int = Field(default=180, ge=0)
    retention_keyword_hit_days: int = Field(default=365, ge=0)
    retention_raw_update_days: int = Field(default=7, ge=1)

    # The web console (under /console): where it listens (0 = not in `run`/`demo`; equal to
    # RAPPORT_WEBHOOK_PORT = on the webhook's server), its public URL, link and session life.
    console_host: str = "127.0.0.1"
    console_port: int = Field(default=8082, ge=0, le=65535)
    console_url: str | None = None  # default: http://CONSOLE_HOST:CONSOLE_PORT
    console_link_minutes: int = Field(default=10, ge=1, le=1440)
    console_session_hours: int = Field(default=12, ge=1, le=24 * 30)
    # Staff handoffs: hand a chat back to the bot after this long without a staff message,
    # and open at most this many staff topics a minute (Telegram's limit is about 20).
    handoff_idle_minutes: int = Field(default=30, ge=1)
    handoff_topics_per_minute: int = Field(default=20, ge=1, le=60)

    @property
    def retention(self) -> Retention:
        return Retention(
            message_text_days=self.retention_message_text_days or None,
            keyword_hit_days=self.retention_keyword_hit_days or None,
            raw_update_days=self.retention_raw_update_days,
        )

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        bot_id, _, secret = value.get_secret_value().partition(":")
        if not bot_id.isdigit() or not secret:
            raise ValueError("must look like 123456:ABC-DEF... (the token @BotFather gave you)")
        return value

    @field_validator("api_url", "webhook_url", "console_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _database_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "must start with sqlite+aiosqlite:// or postgresql+asyncpg:// "
                "(for example sqlite+aiosqlite:///var/rapport.sqlite3)"
            )
        return value

    @field_validator("webhook_path")
    @classmethod
    def _absolute_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError("must start with /")
        return value

    @field_validator("admin_ids", "staff_ids", mode="before")
    @classmethod
    def _comma_separated_ids(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, int):
            return [value]
        return value

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")


class SettingsError(Exception):
    """Settings that cannot be used; the message is one line naming the setting."""


def load_settings(**overrides: Any) -> Settings:
    """Read the settings, turning a validation error into one line per bad setting."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(describe(error)) from None


def describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        name = ENV_PREFIX + "_".join(str(part) for part in problem["loc"][:1]).upper()
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"{name}: {message}")
    return "\n".join(lines)

"""Settings: typed, from the environment, one clear line per bad value; secrets hidden."""

import logging

import pytest

from bot.logs import REDACTED, RedactSecrets
from bot.settings import Settings, SettingsError, load_settings

TOKEN = "123456:AAAA-secret-token"


def test_defaults_select_sqlite_and_telegram() -> None:
    settings = Settings(_env_file=None)
    assert settings.database_url.startswith("sqlite+aiosqlite://")
    assert settings.api_url == "https://api.telegram.org"
    assert settings.bot_token is None


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAPPORT_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("RAPPORT_ADMIN_IDS", "11, 22")
    monkeypatch.setenv("RAPPORT_API_URL", "http://127.0.0.1:8081/")
    settings = load_settings(_env_file=None)
    assert settings.admin_ids == [11, 22]
    assert settings.api_url == "http://127.0.0.1:8081"
    assert settings.bot_token is not None
    assert TOKEN not in repr(settings)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("RAPPORT_DATABASE_URL", "mysql://x", "RAPPORT_DATABASE_URL: must start with"),
        ("RAPPORT_WEBHOOK_PORT", "eighty", "RAPPORT_WEBHOOK_PORT: Input should be"),
        ("RAPPORT_BOT_TOKEN", "not-a-token", "RAPPORT_BOT_TOKEN: must look like"),
        ("RAPPORT_API_URL", "api.telegram.org", "RAPPORT_API_URL: must start with"),
        ("RAPPORT_ADMIN_IDS", "1,x", "RAPPORT_ADMIN_IDS: Input should be"),
    ],
)
def test_invalid_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as raised:
        load_settings(_env_file=None)
    assert str(raised.value).startswith(expected)
    assert "\n" not in str(raised.value)


def test_token_is_redacted_from_any_log_record(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.redaction")
    caplog.handler.addFilter(RedactSecrets([TOKEN]))
    with caplog.at_level(logging.INFO):
        logger.info("request to %s failed", f"https://api.telegram.org/bot{TOKEN}/getMe")
    assert TOKEN not in caplog.text
    assert REDACTED in caplog.text

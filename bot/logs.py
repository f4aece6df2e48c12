"""Logging set-up: one format, aiogram's per-update chatter at DEBUG, and no token ever."""

import logging
import re

from bot.settings import Settings

REDACTED = "<token>"
# One-time console login links (in access logs and errors at DEBUG).
LOGIN_LINK = re.compile(r"(/login/)[A-Za-z0-9_-]{16,}")


class RedactSecrets(logging.Filter):
    """Replaces secrets in every record, wherever a library put them (URLs, errors)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = LOGIN_LINK.sub(rf"\g<1>{REDACTED}", message)
        for secret in self.secrets:
            redacted = redacted.replace(secret, REDACTED)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    secrets = [
        secret.get_secret_value()
        for secret in (settings.bot_token, settings.webhook_secret)
        if secret is not None
    ]
    for handler in logging.getLogger().handlers:
        handler.addFilter(RedactSecrets(secrets))
    # aiogram logs every update, aiohttp every request (each long poll), APScheduler every
    # tick at INFO: for us that is DEBUG detail.
    if settings.log_level != "DEBUG":
        for chatty in (
            "aiogram.event",
            "aiohttp.access",
            "apscheduler.executors.default",
            "apscheduler.scheduler",
        ):
            logging.getLogger(chatty).setLevel(logging.WARNING)

"""Bot API errors, phrased exactly as Telegram phrases them on the wire."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answer: HTTP status == error_code, like the real Bot API."""

    def __init__(self, code: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def forbidden(reason: str) -> ApiError:
    return ApiError(403, f"Forbidden: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized")


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def conflict(reason: str) -> ApiError:
    return ApiError(409, f"Conflict: {reason}")


def server_error() -> ApiError:
    return ApiError(500, "Internal Server Error")


CHAT_NOT_FOUND = "chat not found"
BLOCKED = "bot was blocked by the user"
WEBHOOK_ACTIVE = (
    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the "
    "webhook first"
)
OTHER_POLLER = (
    "terminated by other getUpdates request; make sure that only one bot instance is running"
)

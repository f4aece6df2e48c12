"""Callback data for inline buttons: short, stable, and at most 64 bytes.

Telegram gives a pressed button's data back to the bot, limited to 64 bytes. We send
"d:" plus a hash of where the button lives ("dialog.step/button key"): 10 bytes,
whatever the length of the ids. The compiled brand maps the data back to the button.

The hash depends only on names, not on the version or the button's position, so a
button on yesterday's message still works after an editor publishes a new version,
as long as that button still exists. The key is the button's `id` if it has one,
else its label in the default language; so reordering buttons never makes an old
"Yes" act as "No". Data that no longer resolves gets the brand's "expired" text.
"""

from __future__ import annotations

import base64
import hashlib

__all__ = ["CALLBACK_LIMIT", "CALLBACK_PREFIX", "callback_data", "is_dialog_callback"]

CALLBACK_PREFIX = "d:"
CALLBACK_LIMIT = 64  # bytes, Telegram's limit for callback_data


def callback_data(step_ref: str, button_key: str) -> str:
    digest = hashlib.blake2b(f"{step_ref}/{button_key}".encode(), digest_size=6).digest()
    return CALLBACK_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii")


def is_dialog_callback(data: str) -> bool:
    """True for data the dialog engine made (the adapter routes those to the engine)."""
    return data.startswith(CALLBACK_PREFIX)

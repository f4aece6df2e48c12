"""Errors raised by the console package.

ConsoleError
└── CampaignError: a campaign the editor asked for cannot be created (the message says why).
"""


class ConsoleError(Exception):
    """Base of every error raised by admin/."""


class CampaignError(ConsoleError):
    """A campaign cannot be created as asked."""

"""Errors raised by the console package.

ConsoleError
├── CampaignError: a campaign the editor asked for cannot be created (the message says why).
└── RuleEditError: rules.yaml cannot be edited as asked (no such rule).
"""


class ConsoleError(Exception):
    """Base of every error raised by admin/."""


class CampaignError(ConsoleError):
    """A campaign cannot be created as asked."""


class RuleEditError(ConsoleError):
    """rules.yaml cannot be edited as asked."""

"""Bot API method implementations; importing this package fills the registry."""

from sandbox.methods import account, chats, editing, forum, polling, sending
from sandbox.methods.registry import REGISTRY, MethodSpec

__all__ = ["REGISTRY", "MethodSpec", "account", "chats", "editing", "forum", "polling", "sending"]

"""A local stand-in for Telegram's Bot API, speaking its wire format.

Point a bot at it with ``TelegramAPIServer.from_base(url)``; drive the fan side through the
control API (``sandbox.client.SandboxClient``) or the chat page at ``/``.
"""

"""Built-in texts for the few things the bot says outside the brand's scripts.

A brand's scripts take over everything conversational; these cover the privacy commands
and start-up when no script answers.
"""

DEFAULT_LANGUAGE = "en"

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "welcome": "Hello {name}! Nice to meet you.",
        "welcome_back": "Welcome back, {name}!",
        "stopped": (
            "Done: you will get no more messages from us unless you write first. "
            "Changed your mind? Tap the button below."
        ),
        "resume_button": "Resume messages",
        "resumed": "You will hear from us again. Send /stop at any time to pause.",
        "already_stopped": "Messages are already paused. Tap the button to resume them.",
    },
    "zh": {
        "welcome": "{name}，你好！很高兴认识你。",
        "welcome_back": "{name}，欢迎回来！",
        "stopped": "好的：除非你先发消息，我们不会再主动联系你。改变主意了？点下面的按钮。",
        "resume_button": "恢复消息",
        "resumed": "我们会继续和你聊天。随时发送 /stop 即可暂停。",
        "already_stopped": "消息已经暂停。点按钮即可恢复。",
    },
}

RESUME_CALLBACK = "rapport:optin"


def pick_language(language: str | None, telegram_language: str | None) -> str:
    """The fan's chosen language, else their Telegram language, else the default."""
    for candidate in (language, telegram_language):
        if candidate:
            base = candidate.lower().split("-")[0]
            if base in TEXTS:
                return base
    return DEFAULT_LANGUAGE


def text(key: str, language: str, **values: str) -> str:
    return TEXTS.get(language, TEXTS[DEFAULT_LANGUAGE])[key].format(**values)

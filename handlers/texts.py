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
        "mydata": (
            "Here is everything we store about you, in the attached file: your profile "
            "({fields}), {tags} tags, {origins} ways you came to us, your consents, and "
            "{events} events of our conversation. Send /forget to have it deleted."
        ),
        "forget_confirm": (
            "Delete everything we know about you? Your profile, tags and messages are "
            "erased and we will not write to you again. This cannot be undone."
        ),
        "forget_yes": "Yes, delete my data",
        "forget_no": "No, keep it",
        "forgotten": "Done: your data is deleted. If you write again, we start afresh.",
        "forget_kept": "Nothing was deleted.",
        "staff_unavailable": (
            "Sorry, no one from our team can chat here right now. We have passed your "
            "request on and will get back to you."
        ),
        "staff_timed_out": (
            "Sorry, nobody from our team could answer in time. You can keep chatting with "
            "me, or ask for a person again later."
        ),
    },
    "zh": {
        "welcome": "{name}，你好！很高兴认识你。",
        "welcome_back": "{name}，欢迎回来！",
        "stopped": "好的：除非你先发消息，我们不会再主动联系你。改变主意了？点下面的按钮。",
        "resume_button": "恢复消息",
        "resumed": "我们会继续和你聊天。随时发送 /stop 即可暂停。",
        "already_stopped": "消息已经暂停。点按钮即可恢复。",
        "mydata": (
            "附件中是我们保存的关于你的全部信息：个人资料（{fields}）、{tags} 个标签、"
            "{origins} 个来源、你的同意记录，以及 {events} 条对话记录。发送 /forget 即可删除。"
        ),
        "forget_confirm": "要删除我们保存的关于你的全部信息吗？个人资料、标签和消息都会被清除，"
        "我们也不会再联系你。此操作无法撤销。",
        "forget_yes": "是的，删除我的数据",
        "forget_no": "不，保留",
        "forgotten": "已完成：你的数据已删除。如果你再次发消息，我们会重新开始。",
        "forget_kept": "没有删除任何内容。",
        "staff_unavailable": (
            "抱歉，我们的同事暂时无法在这里回复。我们已经转达了您的请求，会尽快联系您。"
        ),
        "staff_timed_out": (
            "抱歉，我们的同事没能及时回复。您可以继续和我聊，或者稍后再找人工客服。"
        ),
    },
}

RESUME_CALLBACK = "rapport:optin"
FORGET_YES_CALLBACK = "rapport:forget:yes"
FORGET_NO_CALLBACK = "rapport:forget:no"


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

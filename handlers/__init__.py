"""aiogram routers and middlewares: turn Telegram updates into calls on dialogs/ and storage/."""

"""The web console for brand editors and staff: aiohttp with server-rendered Jinja2 pages.

    config = ConsoleConfig(database=..., clock=..., base_url="http://127.0.0.1:8082")
    app = create_console_app(config)         # an aiohttp Application

Access is by one-time login links (`/console` to the bot, or `rapport console-link`);
every route declares the role it needs, and the auth middleware refuses the rest.
"""

from admin.app import create_console_app
from admin.config import ConsoleConfig
from admin.links import LoginLinks

__all__ = ["ConsoleConfig", "LoginLinks", "create_console_app"]

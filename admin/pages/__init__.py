"""One module per console page; each exposes aiohttp handlers registered in admin/app.py."""

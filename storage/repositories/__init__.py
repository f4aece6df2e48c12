"""Repositories: SQL for one concept each. They take a session and never commit."""

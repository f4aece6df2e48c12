"""Errors raised by the storage package.

StorageError
└── DatabaseUnavailableError: the database cannot be reached or opened (an operator's problem).
"""


class StorageError(Exception):
    """Base of every error raised by storage/."""


class DatabaseUnavailableError(StorageError):
    """The database cannot be reached or opened."""

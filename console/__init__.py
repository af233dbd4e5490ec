"""Chairside console: the application (CLI, windows, session record, storage, review, export)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chairside")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+source"

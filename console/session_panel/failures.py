"""Kept for older imports: the plain failure messages live in :mod:`console.session.failures` (Qt-free)."""

from console.session.failures import AUTH, ERROR, INVALID, PERMISSION, STORAGE, classify, failure_message

__all__ = ["AUTH", "ERROR", "INVALID", "PERMISSION", "STORAGE", "classify", "failure_message"]

"""The exception hierarchy of labelwise.

Every message names what was wrong (the file, line or field) and how to fix it.
"""

from __future__ import annotations


class LabelwiseError(Exception):
    """Base class of every error labelwise raises on purpose."""


class DataError(LabelwiseError, ValueError):
    """Input data is malformed: a missing column, an empty text, an unknown label, ..."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        fix: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.fix = fix
        where = ""
        if path is not None:
            where = f"{path}"
            if line is not None:
                where += f", line {line}"
            where += ": "
        text = where + message
        if fix:
            text += f" Fix: {fix}"
        super().__init__(text)


class ConfigError(LabelwiseError, ValueError):
    """A configuration value is missing, malformed or unknown."""


class CapabilityError(LabelwiseError, TypeError):
    """A strategy needs an output the model cannot compute."""


class SelectionError(LabelwiseError, ValueError):
    """A query cannot be satisfied (k larger than the candidates, nothing to choose from, ...)."""


class NotFittedError(LabelwiseError, RuntimeError):
    """A model was asked for outputs before it was trained."""


class LockedError(LabelwiseError, RuntimeError):
    """Another process (or another object in this one) holds the lock on a store or output
    folder; two writers would interleave their records."""

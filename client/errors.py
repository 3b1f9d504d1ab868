"""Errors and warnings of the SDK. Each message says what went wrong and what to do."""

from __future__ import annotations

from lineage.errors import FailedPrecondition, LineageError, NotFound


class AnnotationError(TypeError):
    """A step function's annotations cannot be used (raised when it is decorated)."""


class MissingInputError(NotFound):
    """An input refers to an artifact that is not recorded, or whose bytes cannot be read."""


class OutputNotWrittenError(FailedPrecondition):
    """A step finished without writing one of its outputs (the step is recorded FAILED)."""


class NotConnectedError(LineageError):
    code = "FAILED_PRECONDITION"


class SpoolWarning(UserWarning):
    """The server was unreachable: a report went to the local spool, to be replayed."""


class SpoolFullWarning(UserWarning):
    """A report could be neither sent nor spooled (spool disk or quota full)."""


class CacheWarning(UserWarning):
    """A step could not use the cache (it ran instead)."""


class BlobWarning(UserWarning):
    """An artifact's bytes could not be uploaded (the server takes no blobs)."""

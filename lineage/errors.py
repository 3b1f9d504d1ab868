"""Errors of the core, one class per MLMD status code.

The gRPC layer maps each class to its status code, so a client sees the same
``ml_metadata.errors`` exception MLMD's own store raises; other interfaces (GraphQL,
HTTP, CLI) turn the same classes into their own clear errors.
"""

from __future__ import annotations


class LineageError(Exception):
    """Base of every error the core raises on purpose; the message is for users."""

    code = "UNKNOWN"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(LineageError):
    code = "INVALID_ARGUMENT"


class NotFound(LineageError):
    code = "NOT_FOUND"


class AlreadyExists(LineageError):
    code = "ALREADY_EXISTS"


class FailedPrecondition(LineageError):
    code = "FAILED_PRECONDITION"


class OutOfRange(LineageError):
    code = "OUT_OF_RANGE"


class Aborted(LineageError):
    code = "ABORTED"


class Unavailable(LineageError):
    code = "UNAVAILABLE"


class Unimplemented(LineageError):
    code = "UNIMPLEMENTED"


class Internal(LineageError):
    code = "INTERNAL"


class DataLoss(LineageError):
    """Stored bytes do not match their recorded checksum or size."""

    code = "DATA_LOSS"

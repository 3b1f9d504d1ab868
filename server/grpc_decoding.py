"""Requests that do not parse get INVALID_ARGUMENT, not grpc's INTERNAL.

grpc answers a request its deserializer cannot read (bytes that are not the message, a
Struct nested past protobuf's recursion limit, text that is not UTF-8 in a proto3
string) with INTERNAL "Exception deserializing request!". That is the client's mistake,
and MLMD's own store answers such a request with INVALID_ARGUMENT, so every handler of
the server is wrapped: its deserializer hands a failure on as a value; a unary handler
answers INVALID_ARGUMENT naming the method before any of its code runs, and a streaming
one gets a core InvalidArgument error where it reads the bad message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc

from lineage.errors import InvalidArgument


class Undecodable:
    """Stands for a request message that did not parse."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


def lenient(deserialize: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception as exc:  # DecodeError, RecursionError, UnicodeDecodeError...
            return Undecodable(str(exc) or type(exc).__name__)

    return parse


def _problem(method: str, bad: Undecodable) -> str:
    return f"{method}: the request is not a valid message ({bad.reason})"


def _checked(requests: Iterator[Any], method: str) -> Iterator[Any]:
    """The stream's messages; one that did not parse raises InvalidArgument where the
    handler reads it, so the handler cleans up and answers as for its own errors."""
    for request in requests:
        if isinstance(request, Undecodable):
            raise InvalidArgument(_problem(method, request))
        yield request


def _wrap_unary_request(behavior: Callable[..., Any], method: str) -> Callable[..., Any]:
    def handle(request: Any, context: grpc.ServicerContext) -> Any:
        if isinstance(request, Undecodable):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, _problem(method, request))
        return behavior(request, context)

    return handle


def _wrap_streaming_request(behavior: Callable[..., Any], method: str) -> Callable[..., Any]:
    def handle(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
        return behavior(_checked(requests, method), context)

    return handle


def checked_handler(handler: Any, method: str) -> Any:
    """``handler`` (a grpc RpcMethodHandler) refusing requests that do not parse."""
    if handler is None or handler.request_deserializer is None:
        return handler
    wrap = _wrap_streaming_request if handler.request_streaming else _wrap_unary_request
    behaviors = {
        name: wrap(getattr(handler, name), method)
        for name in ("unary_unary", "unary_stream", "stream_unary", "stream_stream")
        if getattr(handler, name) is not None
    }
    return handler._replace(request_deserializer=lenient(handler.request_deserializer), **behaviors)


def accepting_serialized(handler: Any) -> Any:
    """``handler`` whose unary answer may also be the response already serialized
    (bytes, as prepared by mlmd/follow_ups.py), sent as it is."""
    if handler is None or handler.response_streaming or handler.response_serializer is None:
        return handler
    serialize = handler.response_serializer

    def serialize_unless_bytes(response: Any) -> bytes:
        return response if response.__class__ is bytes else serialize(response)

    return handler._replace(response_serializer=serialize_unless_bytes)


class RequestDecoding(grpc.ServerInterceptor):
    """Wraps every method's handler with :func:`checked_handler` and
    :func:`accepting_serialized` (once per method)."""

    def __init__(self) -> None:
        self._handlers: dict[str, Any] = {}

    def intercept_service(
        self, continuation: Callable[[Any], Any], handler_call_details: Any
    ) -> Any:
        method = handler_call_details.method
        handler = self._handlers.get(method)
        if handler is None:
            handler = accepting_serialized(
                checked_handler(continuation(handler_call_details), method)
            )
            if handler is not None:
                self._handlers[method] = handler
        return handler

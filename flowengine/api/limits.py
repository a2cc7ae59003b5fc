"""Request limits: a cap on HTTP body size and on the shape of a deployed flow document.

The body cap is pure ASGI (no request object, no buffering): a declared Content-Length over the
limit is refused before the body is read, and a chunked body is counted as it streams in, so a
client cannot make the server hold more than the limit in memory. The document check bounds
what validation and the engine have to walk (node count, nesting depth, string length) and
reports every problem as a ValidationIssue, like any other invalid document.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ..errors import ValidationIssue

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_NODES = 10_000
MAX_DEPTH = 32
MAX_STRING = 1_000_000
MAX_ISSUES = 50  # enough to fix a document; a hostile one must not produce a huge 400 body


class _BodyTooLarge(Exception):
    """Raised from receive() to abort the app's read of an oversized body."""


class BodySizeLimitMiddleware:
    """413 (JSON) for an HTTP request whose body exceeds `max_bytes`; WebSockets and lifespan pass."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES):
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send)  # the body is never handed to the app
            return

        received = 0
        exceeded = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if exceeded:
                return  # whatever the app answers to the aborted read (400/500) is replaced by our 413
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not response_started:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"error": "payload_too_large",
                           "message": f"the request body exceeds {self.max_bytes} bytes"}).encode()
        # No `Connection: close`: closing with the body unread makes the kernel reset the connection
        # and the client sees a reset instead of the 413. uvicorn discards the rest of the body.
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers") or ():
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server rejects a malformed header itself
    return None


def check_document_limits(doc: Any, max_nodes: int = MAX_NODES, max_depth: int = MAX_DEPTH,
                          max_string: int = MAX_STRING) -> list[ValidationIssue]:
    """Problems that make `doc` too big to validate and run: more than `max_nodes` entries, values
    nested deeper than `max_depth`, strings (or keys) longer than `max_string` characters.

    Iterative (no recursion), so a deeply nested document cannot exhaust the stack; at most
    MAX_ISSUES issues are returned. Depth counts containers below a node (a node's `wires` list
    of lists is depth 2); for a document that is not a list the whole document is walked."""
    issues: list[ValidationIssue] = []
    if isinstance(doc, list):
        if len(doc) > max_nodes:
            issues.append(ValidationIssue(None, None, "", f"the document has {len(doc)} nodes; "
                                                          f"at most {max_nodes} are allowed"))
            return issues  # walking them all would be the cost this limit avoids
        roots = [(f"[{i}]", item) for i, item in enumerate(doc)]
    else:
        roots = [("", doc)]
    for root_path, root in roots:
        node_id, node_type = _identity(root)
        # Paths inside a node are relative to it (as ValidationIssue paths are); the document
        # path is used when the item is not a node with an id.
        base = "" if node_id is not None else root_path
        stack: list[tuple[str, Any, int]] = [(base, root, 0)]
        while stack and len(issues) < MAX_ISSUES:
            path, value, depth = stack.pop()
            if isinstance(value, str):
                if len(value) > max_string:
                    issues.append(ValidationIssue(node_id, node_type, path, f"string of {len(value)} characters; "
                                                                            f"at most {max_string} are allowed"))
                continue
            if not isinstance(value, (dict, list)):
                continue
            if depth >= max_depth:
                issues.append(ValidationIssue(node_id, node_type, path,
                                              f"nested deeper than {max_depth} levels"))
                continue  # nothing below is walked: that is the point of the limit
            if isinstance(value, dict):
                for key, child in reversed(value.items()):  # reversed: popped, then reported, in order
                    key_text = str(key)
                    if len(key_text) > max_string:
                        issues.append(ValidationIssue(node_id, node_type, path,
                                                      f"property name of {len(key_text)} characters; "
                                                      f"at most {max_string} are allowed"))
                        continue
                    stack.append((f"{path}.{key_text}" if path else key_text, child, depth + 1))
            else:
                stack.extend((f"{path}[{i}]", value[i], depth + 1) for i in range(len(value) - 1, -1, -1))
        if len(issues) >= MAX_ISSUES:
            issues = issues[:MAX_ISSUES]
            issues.append(ValidationIssue(None, None, "", f"{MAX_ISSUES} size problems listed; "
                                                          "there may be more"))
            break
    return issues


def _identity(item: Any) -> tuple[str | None, str | None]:
    if not isinstance(item, dict):
        return None, None
    nid, ntype = item.get("id"), item.get("type")
    return (nid if isinstance(nid, str) and len(nid) <= 200 else None,
            ntype if isinstance(ntype, str) and len(ntype) <= 200 else None)

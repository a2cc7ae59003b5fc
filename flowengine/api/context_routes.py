"""Context API (mounted under /api/v1): read and delete global, flow and node context.

    GET    /context/global                      every key, per store
    GET    /context/global/{key}                one key (a property path: `a.b[0]` works)
    DELETE /context/global/{key}
    GET    /context/flow/{flow_id}[/{key}]      a tab or a subflow instance of the running flows
    DELETE /context/flow/{flow_id}/{key}
    GET    /context/node/{node_id}[/{key}]      a running node
    DELETE /context/node/{node_id}/{key}

`?store=memory|file` picks a store; without it a listing shows every store and a key is read
from (or deleted in) the default store, as a node's `context.get(key)` would. Values are
JSON as Node-RED's JSON.stringify writes them (bytes as {"type": "Buffer", "data": [...]}); a
value that cannot be written as JSON (a cycle) is shown as {"__unserializable__": "<type>"}.
Writes are not offered: flows own their context, the API only inspects and clears it.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from ..jsvalue import UNDEFINED, js_json_dumps
from ..msgpath import PathError
from ..runtime.context import ScopedContext
from .deps import application

router = APIRouter(tags=["context"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "unknown store or invalid key"},
    404: {"description": "unknown flow, node or key"},
}
_STORE = Query(None, description="context store (memory, file); default: every store for a listing, "
                                 "the default store for a key")


class _ApiError(Exception):
    def __init__(self, status: int, error: str, message: str):
        self.response = JSONResponse(status_code=status, content={"error": error, "message": message})


# ------------------------------------------------------------------ global
@router.get("/context/global", summary="Global context, every key", responses=_ERRORS)
async def get_global(request: Request, store: str | None = _STORE) -> Response:
    return _call(lambda: _listing(request, "global", None, _global(request), store))


@router.get("/context/global/{key:path}", summary="One global context key", responses=_ERRORS)
async def get_global_key(request: Request, key: str, store: str | None = _STORE) -> Response:
    return _call(lambda: _read(request, _global(request), key, store))


@router.delete("/context/global/{key:path}", summary="Delete a global context key", status_code=204,
               responses=_ERRORS)
async def delete_global_key(request: Request, key: str, store: str | None = _STORE) -> Response:
    return _call(lambda: _delete(request, _global(request), key, store))


# ------------------------------------------------------------------ flow
@router.get("/context/flow/{flow_id}", summary="A flow's context, every key", responses=_ERRORS)
async def get_flow(request: Request, flow_id: str, store: str | None = _STORE) -> Response:
    return _call(lambda: _listing(request, "flow", flow_id, _flow(request, flow_id), store))


@router.get("/context/flow/{flow_id}/{key:path}", summary="One flow context key", responses=_ERRORS)
async def get_flow_key(request: Request, flow_id: str, key: str, store: str | None = _STORE) -> Response:
    return _call(lambda: _read(request, _flow(request, flow_id), key, store))


@router.delete("/context/flow/{flow_id}/{key:path}", summary="Delete a flow context key", status_code=204,
               responses=_ERRORS)
async def delete_flow_key(request: Request, flow_id: str, key: str, store: str | None = _STORE) -> Response:
    return _call(lambda: _delete(request, _flow(request, flow_id), key, store))


# ------------------------------------------------------------------ node
@router.get("/context/node/{node_id}", summary="A node's context, every key", responses=_ERRORS)
async def get_node(request: Request, node_id: str, store: str | None = _STORE) -> Response:
    return _call(lambda: _listing(request, "node", node_id, _node(request, node_id), store))


@router.get("/context/node/{node_id}/{key:path}", summary="One node context key", responses=_ERRORS)
async def get_node_key(request: Request, node_id: str, key: str, store: str | None = _STORE) -> Response:
    return _call(lambda: _read(request, _node(request, node_id), key, store))


@router.delete("/context/node/{node_id}/{key:path}", summary="Delete a node context key", status_code=204,
               responses=_ERRORS)
async def delete_node_key(request: Request, node_id: str, key: str, store: str | None = _STORE) -> Response:
    return _call(lambda: _delete(request, _node(request, node_id), key, store))


# ------------------------------------------------------------------ helpers
def _call(fn: Any) -> Response:
    try:
        return fn()
    except _ApiError as exc:
        return exc.response


def _global(request: Request) -> ScopedContext:
    return ScopedContext(application(request).engine.contexts, "global")


def _flow(request: Request, flow_id: str) -> ScopedContext:
    engine = application(request).engine
    scope = engine.plan.scopes.get(flow_id) if engine.plan is not None else None
    if scope is None or scope.kind == "global":  # "global" is a scope of the plan, not a flow
        raise _ApiError(404, "not_found", f"no deployed flow {flow_id!r}")
    return _flow_context(engine.contexts, scope)


def _flow_context(contexts: Any, scope: Any) -> ScopedContext:
    # As Engine._flow_context: a subflow instance's context has its enclosing flow as `$parent`.
    if scope is None or scope.kind == "global":
        return ScopedContext(contexts, "global")
    parent = _flow_context(contexts, scope.parent) if scope.parent is not None else None
    return ScopedContext(contexts, scope.id, parent)


def _node(request: Request, node_id: str) -> ScopedContext:
    engine = application(request).engine
    node = engine.nodes.get(node_id)
    if node is None:
        raise _ApiError(404, "not_found", f"no running node {node_id!r}")
    # The engine names the scope (f"{node_id}:{flow scope id}"); asking it keeps one source of truth.
    return engine.context_for(node, "node")


def _store_names(request: Request, store: str | None) -> list[str]:
    contexts = application(request).engine.contexts
    if store is None:
        return list(contexts.stores)
    if store not in contexts.stores:
        # ContextStores.get_store would fall back to the default store: an API client must be told.
        raise _ApiError(400, "unknown_store", f"no context store {store!r}; configured: "
                                              f"{', '.join(contexts.stores)}")
    return [store]


def _the_store(request: Request, store: str | None) -> str:
    return _store_names(request, store)[0] if store is not None else application(request).engine.contexts.default


def _get(ctx: ScopedContext, key: str, store: str) -> Any:
    try:
        return ctx.get(key, store)
    except PathError as exc:
        raise _ApiError(400, "invalid_key", str(exc)) from exc


def _listing(request: Request, scope: str, scope_id: str | None, ctx: ScopedContext,
             store: str | None) -> Response:
    """{"scope", "id", "stores": {store: {key: value}}}, assembled as text so that each value is
    serialised once, by js_json_dumps, and one bad value cannot fail the whole listing."""
    stores = []
    for name in _store_names(request, store):
        values = ",".join(f"{json.dumps(k)}:{_value_json(ctx.get(k, name))}" for k in ctx.keys(name))
        stores.append(f"{json.dumps(name)}:{{{values}}}")
    body = f'{{"scope":{json.dumps(scope)},"id":{json.dumps(scope_id)},"stores":{{{",".join(stores)}}}}}'
    return Response(content=body, media_type="application/json")


def _read(request: Request, ctx: ScopedContext, key: str, store: str | None) -> Response:
    name = _the_store(request, store)
    value = _get(ctx, key, name)
    if value is UNDEFINED:
        raise _ApiError(404, "not_found", f"no context key {key!r} in store {name!r}")
    body = f'{{"key":{json.dumps(key)},"store":{json.dumps(name)},"value":{_value_json(value)}}}'
    return Response(content=body, media_type="application/json")


def _delete(request: Request, ctx: ScopedContext, key: str, store: str | None) -> Response:
    name = _the_store(request, store)
    if _get(ctx, key, name) is UNDEFINED:
        raise _ApiError(404, "not_found", f"no context key {key!r} in store {name!r}")
    try:
        ctx.set(key, UNDEFINED, name)  # UNDEFINED deletes, and a persistent store writes the deletion
    except PathError as exc:
        raise _ApiError(400, "invalid_key", str(exc)) from exc
    return Response(status_code=204)


def _value_json(value: Any) -> str:
    try:
        return js_json_dumps(value)
    except (TypeError, ValueError, RecursionError):  # a cycle, or nesting too deep for json
        return json.dumps({"__unserializable__": type(value).__name__})

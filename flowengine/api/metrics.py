"""GET /metrics in the Prometheus text format.

Everything is read from the engine when Prometheus scrapes (a custom collector), so the
per-message path pays nothing: no counters are incremented on the way for the metrics' sake.
Each FastAPI app gets its own CollectorRegistry (never prometheus_client's global default), so
two engines in one process (tests) do not clash.

Series:
  flowengine_node_messages_handled_total{node_id,type}  node._handled (0 until the engine counts)
  flowengine_node_errors_total{node_id,type}            node._errors (0 until the engine counts)
  flowengine_node_dropped_total{node_id,type}           inbox.dropped
  flowengine_node_inbox_depth{node_id,type}             messages waiting in the inbox
  flowengine_errors_total                               engine.error_count (all nodes)
  flowengine_nodes                                      running nodes
  flowengine_deploys_total{result}                      success | invalid | error
  process_*                                             ProcessCollector (Linux /proc)
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..errors import FlowValidationError

router = APIRouter(tags=["runtime"])

DEPLOY_RESULTS = ("success", "invalid", "error")
_NODE_LABELS = ["node_id", "type"]


class EngineCollector(Collector):
    """Reads the running nodes and the engine's counters at scrape time."""

    def __init__(self, application: Any):
        self.application = application

    def collect(self) -> Iterable[Metric]:
        engine = self.application.engine
        handled = CounterMetricFamily("flowengine_node_messages_handled", "Messages a node has handled "
                                      "(since it was deployed)", labels=_NODE_LABELS)
        errors = CounterMetricFamily("flowengine_node_errors", "Errors a node has reported (since it was deployed)",
                                     labels=_NODE_LABELS)
        dropped = CounterMetricFamily("flowengine_node_dropped", "Messages dropped at a node's full inbox "
                                      "(since it was deployed)", labels=_NODE_LABELS)
        depth = GaugeMetricFamily("flowengine_node_inbox_depth", "Messages waiting in a node's inbox",
                                  labels=_NODE_LABELS)
        running = 0
        for node_id, node in list(engine.nodes.items()):  # a copy: a deploy may swap the dict meanwhile
            if node.is_config:
                continue  # config nodes have no inbox traffic; they would only add zero series
            running += 1
            labels = [node_id, node.type]
            handled.add_metric(labels, getattr(node, "_handled", 0))
            errors.add_metric(labels, getattr(node, "_errors", 0))
            dropped.add_metric(labels, node._inbox.dropped)
            depth.add_metric(labels, len(node._inbox))
        yield from (handled, errors, dropped, depth)
        yield CounterMetricFamily("flowengine_errors", "Errors reported by all nodes since the engine started",
                                  value=engine.error_count)
        yield GaugeMetricFamily("flowengine_nodes", "Nodes running (config nodes excluded)", value=running)
        deploys = CounterMetricFamily("flowengine_deploys", "Deploys by result", labels=["result"])
        results: Mapping[str, int] = getattr(self.application, "deploy_results", None) or {}
        for result in dict.fromkeys([*DEPLOY_RESULTS, *results]):  # the usual three always, then any other
            deploys.add_metric([result], results.get(result, 0))
        yield deploys


def build_registry(application: Any) -> CollectorRegistry:
    """A private registry with the engine collector and the process collector."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(EngineCollector(application))
    ProcessCollector(registry=registry)  # registers itself on the registry it is given
    return registry


def count_deploys(application: Any) -> None:
    """Count deploys by result in `application.deploy_results`, unless the Application counts them
    itself (then this does nothing). It wraps the instance's deploy(), which reload, rollback and
    every deploy route call, so deploys made before the server started (boot) are not counted."""
    if hasattr(application, "deploy_results") or not callable(getattr(application, "deploy", None)):
        return
    results: Counter[str] = Counter()
    deploy = application.deploy

    @functools.wraps(deploy)
    async def counted(*args: Any, **kwargs: Any) -> Any:
        try:
            rev = await deploy(*args, **kwargs)
        except FlowValidationError:
            results["invalid"] += 1
            raise
        except Exception:
            results["error"] += 1
            raise
        results["success"] += 1
        return rev

    application.deploy_results = results
    application.deploy = counted


def install(app: FastAPI, application: Any) -> None:
    """Give `app` its registry and GET /metrics, and start counting deploys."""
    count_deploys(application)
    app.state.metrics_registry = build_registry(application)
    app.include_router(router)


@router.get("/metrics", summary="Prometheus metrics (text exposition format)", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
async def metrics(request: Request) -> Response:
    registry = getattr(request.app.state, "metrics_registry", None)
    if registry is None:  # included without install(): build it on first scrape
        registry = request.app.state.metrics_registry = build_registry(request.app.state.application)
    # Generated on the event loop on purpose: the engine's state is only consistent from here.
    return Response(content=generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

"""Prometheus metrics shared by the app: one registry, a few counters and histograms."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

registry = CollectorRegistry(auto_describe=True)

http_requests = Counter(
    "huiying_http_requests_total", "HTTP requests", ["method", "route", "status"], registry=registry
)
http_latency = Histogram(
    "huiying_http_request_seconds",
    "HTTP request latency",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=registry,
)
pipeline_items = Counter("huiying_pipeline_items_total", "Pipeline outcomes", ["outcome"], registry=registry)
pipeline_step_seconds = Counter(
    "huiying_pipeline_step_seconds_total",
    "Time spent in each pipeline step (batch preparation included), batches run step by step",
    ["step"],
    registry=registry,
)
queue_depth = Gauge("huiying_inbound_pending", "Inbound items waiting for the pipeline", registry=registry)
messages_by_sla = Gauge(
    "huiying_open_messages", "Open messages by SLA state", ["sla_state"], registry=registry
)

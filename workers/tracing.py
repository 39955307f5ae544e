"""Optional OpenTelemetry tracing (the `otel` extra): spans for workflows, activities, updates.

`temporalio.contrib.opentelemetry.TracingInterceptor` carries the trace across client, server and
worker; spans leave through OTLP/gRPC to the collector at OTEL_EXPORTER_OTLP_ENDPOINT. The usual
OTEL_* variables (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, ...) are read by the SDK itself.
"""

from __future__ import annotations

from temporalio.client import Interceptor

_installed = False


def tracing_interceptor(endpoint: str) -> Interceptor:
    global _installed
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from temporalio.contrib.opentelemetry import TracingInterceptor
    except ImportError as err:
        raise RuntimeError(
            f"OTEL_EXPORTER_OTLP_ENDPOINT is set but OpenTelemetry is not installed ({err}): "
            "pip install 'zhoushan-innovation-centers[otel]', or unset the variable"
        ) from None
    if not _installed:  # one provider per process, however many clients connect
        provider = TracerProvider(resource=Resource.create({"service.name": "innovation-centers"}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        trace.set_tracer_provider(provider)
        _installed = True
    return TracingInterceptor()

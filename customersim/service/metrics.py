"""The live service in numbers, for Prometheus: ``GET /metrics``.

Counters and gauges are read when scraped, from the stream (events handed to the publisher by
type and source, customers inside, lag) and from the publisher's statistics (acknowledged,
failed, connected, reconnects), so there is one source of truth for each number.

==============================================  =======  ======================================
metric                                          type     meaning
==============================================  =======  ======================================
``customersim_events_published_total``          counter  events handed to the MQTT client, by
                                                         ``event`` and ``source`` (simulation,
                                                         scenario, api)
``customersim_messages_acknowledged_total``     counter  messages the broker acknowledged
``customersim_messages_failed_total``           counter  messages that will not be delivered
``customersim_customers_inside``                gauge    simulated and scripted customers inside
``customersim_publish_lag_seconds``             gauge    how late events go out
``customersim_broker_connected``                gauge    1 while connected to the broker
``customersim_broker_reconnects_total``         counter  connections re-established
``customersim_scenarios_scheduled``             gauge    scripted paths not yet played out
``customersim_simulation_running``              gauge    1 while the simulated crowd moves
==============================================  =======  ======================================
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from customersim.frame import EVENT_TYPES
from customersim.mqtt import PublisherStats
from customersim.service.stream import API, SCENARIO, SIMULATION, LiveStream

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ServiceCollector(Collector):
    """Reads the stream and the publisher at every scrape."""

    def __init__(self, stream: LiveStream, stats: Callable[[], PublisherStats | None], *, mock: bool) -> None:
        self.stream = stream
        self.stats = stats
        self.mock = mock

    def collect(self) -> Iterator[Metric]:
        counts = self.stream.counts()
        published = CounterMetricFamily(
            "customersim_events_published",
            "Events handed to the MQTT client, by event type and source",
            labels=["event", "source"],
        )
        for event in EVENT_TYPES:
            for source in (SIMULATION, SCENARIO, API):
                published.add_metric([event, source], counts.get((event, source), 0))
        yield published
        stats = self.stats()
        acknowledged = stats.acknowledged if stats else 0
        failed = stats.failed if stats else 0
        connected = bool(stats and stats.connected)
        yield CounterMetricFamily(
            "customersim_messages_acknowledged",
            "Messages the broker acknowledged (QoS 0: written to the socket; mock mode: logged)",
            value=acknowledged,
        )
        yield CounterMetricFamily(
            "customersim_messages_failed", "Messages that will not be delivered", value=failed
        )
        yield GaugeMetricFamily(
            "customersim_customers_inside",
            "Simulated and scripted customers inside the store now",
            value=self.stream.customers_inside(),
        )
        yield GaugeMetricFamily(
            "customersim_publish_lag_seconds",
            "How late events go out behind their time (wall seconds)",
            value=self.stream.lag_seconds(),
        )
        yield GaugeMetricFamily(
            "customersim_broker_connected",
            "1 while the MQTT connection is up (always 0 in mock mode)",
            value=1 if connected and not self.mock else 0,
        )
        yield CounterMetricFamily(
            "customersim_broker_reconnects",
            "Times the MQTT connection was re-established",
            value=stats.reconnects if stats else 0,
        )
        yield GaugeMetricFamily(
            "customersim_scenarios_scheduled",
            "Scripted paths taken on and not yet played to the end",
            value=len(self.stream.scheduled()),
        )
        yield GaugeMetricFamily(
            "customersim_simulation_running",
            "1 while the simulated crowd moves (0: paused or off)",
            value=1 if self.stream.has_simulation and not self.stream.paused else 0,
        )


def make_registry(collector: ServiceCollector) -> CollectorRegistry:
    """A registry of the service's own (not the process-global one)."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(collector)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The Prometheus text format of everything in ``registry``."""
    return generate_latest(registry)

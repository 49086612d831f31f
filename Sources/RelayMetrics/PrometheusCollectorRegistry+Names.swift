import Prometheus

/// Metric constructors that take the full `mptcp_relay_…` name, as docs/METRICS.md lists it.
extension PrometheusCollectorRegistry {
    func counter(_ name: String, _ labels: [(String, String)] = [], help: String) -> Counter {
        makeCounter(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    func gauge(_ name: String, _ labels: [(String, String)] = [], help: String) -> Gauge {
        makeGauge(descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help), labels: labels)
    }

    func durationHistogram(
        _ name: String,
        _ labels: [(String, String)],
        buckets: [Duration],
        help: String
    ) -> DurationHistogram {
        makeDurationHistogram(
            descriptor: MetricNameDescriptor(metricName: name, unitName: "", helpText: help),
            labels: labels,
            buckets: buckets
        )
    }
}

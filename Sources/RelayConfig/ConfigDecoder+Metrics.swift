import ConvertProtocol
import TOMLKit

/// The `[metrics]` table.
extension ConfigDecoder {
    /// The keys of `[metrics]`.
    static let metricsKeys = ["enabled", "listen"]

    /// Decodes `[metrics]`; absent means the default (on, `127.0.0.1:9090`).
    mutating func decodeMetrics(_ value: (any TOMLValueConvertible)?) -> MetricsConfiguration {
        var metrics = MetricsConfiguration()
        guard let value else { return metrics }
        guard let table = value.table else {
            self.report("metrics", "expected a [metrics] table, found \(Self.describe(value))")
            return metrics
        }
        self.reportUnknownKeys(in: table, path: "metrics", allowed: Self.metricsKeys)
        if let value = table["listen"], let endpoint = self.endpoint(value, key: "metrics.listen", connectable: false) {
            if let first = self.seenEndpoints[endpoint] {
                self.report("metrics.listen", "\(endpoint) is already the listen endpoint of \(first)")
            } else {
                metrics.listen = endpoint
            }
        }
        if let value = table["enabled"], let enabled = self.boolean(value, key: "metrics.enabled"), !enabled {
            metrics.listen = nil
        }
        return metrics
    }
}

/// Placeholder.
enum RelayMetricsPlaceholder {}

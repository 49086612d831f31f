import Testing

/// Every network suite, one at a time: they share the machine's two cores, and the throughput checks
/// (aggregation, failover) must not compete with another suite's unthrottled transfer.
@Suite(.serialized)
enum NetworkTestSuites {}

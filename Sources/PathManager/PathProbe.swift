public import ConvertProtocol

/// An active check of one path (`[[path]] probe`): a TCP connect from the path's source to `target` every
/// `intervalMilliseconds`, given up after `timeoutMilliseconds`. A connect that completes or is refused
/// (a reset answers: the path carried the SYN there and back) is a success with its round-trip time; one
/// that times out or fails otherwise is a failure. What the results mean is `PathHealthMonitor`'s business.
public struct PathProbe: Sendable, Hashable {
    /// Where the probe connects (any host that answers a SYN, with a SYN-ACK or a reset).
    public var target: Endpoint
    /// The time between two probes of the path.
    public var intervalMilliseconds: Int64
    /// How long a probe may wait for its answer: at most two seconds, and never longer than the interval.
    public var timeoutMilliseconds: Int64 { min(2000, intervalMilliseconds) }

    /// A probe from its parts.
    public init(target: Endpoint, intervalMilliseconds: Int64 = 5000) {
        self.target = target
        self.intervalMilliseconds = intervalMilliseconds
    }
}

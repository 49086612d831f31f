import Synchronization

/// Per listener, until when its converter asked not to be asked again: Resource Exceeded and Network Failure
/// answers carry a retry delay (RFC 8803, "the client SHOULD wait"), and every worker of a forward or
/// transparent listener refuses new LAN connections locally until it has passed.
///
/// One atomic deadline (monotonic nanoseconds) per statistics index, shared by all workers: a worker that
/// reads the answer moves it forward, the others see it at their next accept. No lock, no allocation.
public final class ConverterHoldOff: @unchecked Sendable {
    // @unchecked: `deadlines` is allocated once in init, freed in deinit, and only accessed through Atomic
    // operations.
    private let deadlines: UnsafeMutablePointer<Atomic<UInt64>>
    private let capacity: Int

    /// Room for `listeners` statistics indices, none holding off.
    init(listeners: Int) {
        capacity = max(listeners, 1)
        deadlines = .allocate(capacity: capacity)
        for index in 0..<capacity {
            (deadlines + index).initialize(to: Atomic(0))
        }
    }

    deinit {
        deadlines.deinitialize(count: capacity)
        deadlines.deallocate()
    }

    /// Holds listener `listener` off until `deadline`, unless it already holds off longer; returns the
    /// deadline it had before.
    @discardableResult
    func hold(_ listener: Int, until deadline: UInt64) -> UInt64 {
        guard listener < capacity else { return 0 }
        return deadlines[listener].max(deadline, ordering: .relaxed).oldValue
    }

    /// Whether listener `listener` is still holding off at `now`.
    func isHolding(_ listener: Int, at now: UInt64) -> Bool {
        listener < capacity && now < deadlines[listener].load(ordering: .relaxed)
    }

}

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

    /// Holds listener `listener` off until `deadline`, unless it already holds off longer.
    func hold(_ listener: Int, until deadline: UInt64) {
        guard listener < capacity else { return }
        deadlines[listener].max(deadline, ordering: .relaxed)
    }

    /// Whether listener `listener` is still holding off at `now`.
    func isHolding(_ listener: Int, at now: UInt64) -> Bool {
        listener < capacity && now < deadlines[listener].load(ordering: .relaxed)
    }

    /// The deadline of listener `listener` (0 when it never held off).
    public func deadline(_ listener: Int) -> UInt64 {
        listener < capacity ? deadlines[listener].load(ordering: .relaxed) : 0
    }
}

/// A listener as one worker holds it: its own SO_REUSEPORT socket and what the role needs per connection,
/// computed once (the upstream and backend addresses).
///
/// A reload never changes an entry: it adds new ones (which may take over a retired entry's socket) and
/// retires old ones, whose connections keep the spec they were accepted under until they end.
struct WorkerListener {
    let spec: ListenerSpec
    let fd: Int32
    /// Where its counters are in ``RelayStatistics`` (by name: a listener changed by a reload keeps it).
    let statisticsIndex: Int
    /// Forward and transparent: the converter's address, at a fixed address for io_uring connect.
    let upstreamAddress: UnsafeMutablePointer<SocketAddress>?
    /// Convert: the fixed backend's address, if any.
    let backendAddress: UnsafeMutablePointer<SocketAddress>?
    var acceptArmed = false
    var open = true
    /// Retired by a reload with its socket handed to the entry that replaces it: never closed here.
    var socketHandedOver = false
    /// While accept is paused for lack of descriptors or memory: the time (monotonic ns) to try again.
    var acceptPausedUntil: UInt64 = 0
    /// The "accept failed" warning: at most one line per interval.
    var acceptFailureLog = LogThrottle(intervalNanoseconds: Worker.acceptLogIntervalNanoseconds)
    /// The "client over its limit" warning: at most one line per interval.
    var clientLimitLog = LogThrottle(intervalNanoseconds: Worker.acceptLogIntervalNanoseconds)
    /// The "worker table full" warning: at most one line per interval.
    var tableFullLog = LogThrottle(intervalNanoseconds: Worker.acceptLogIntervalNanoseconds)
    /// The "refused during the converter's retry delay" warning: at most one line per interval.
    var holdOffLog = LogThrottle(intervalNanoseconds: Worker.acceptLogIntervalNanoseconds)

    init(spec: ListenerSpec, fd: Int32, statisticsIndex: Int) {
        self.spec = spec
        self.fd = fd
        self.statisticsIndex = statisticsIndex
        switch spec.role {
        case .forward(let upstream, _), .transparent(let upstream):
            upstreamAddress = .allocate(capacity: 1)
            upstreamAddress!.initialize(to: SocketAddress(upstream))
            backendAddress = nil
        case .convert(_, let backend):
            upstreamAddress = nil
            if let backend {
                backendAddress = .allocate(capacity: 1)
                backendAddress!.initialize(to: SocketAddress(backend))
            } else {
                backendAddress = nil
            }
        }
    }

    func deallocate() {
        upstreamAddress?.deallocate()
        backendAddress?.deallocate()
    }
}

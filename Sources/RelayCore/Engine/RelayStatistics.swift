import ClientAuthentication
import ConvertProtocol
import Synchronization

/// The engine's counters: one block of atomics per worker and listener, written only by the owning
/// worker with relaxed atomic adds (no lock, no allocation on the data path), summed over workers by
/// readers at scrape time.
public final class RelayStatistics: @unchecked Sendable {
    // @unchecked: `cells` is allocated once in init, freed in deinit, and only ever accessed through
    // Atomic operations.

    /// The listener names, by statistics index (the `listener` label); a reload may add names.
    public var listenerNames: [String] {
        names.withLock { $0 }
    }
    /// The number of workers.
    public let workerCount: Int
    /// The most listener names the counters have room for over the process's life (reloads included).
    public let listenerCapacity: Int
    /// Per listener, until when its converter asked to be left alone (a retry delay); it rides with the
    /// counters because every worker already holds them.
    public let converterHoldOff: ConverterHoldOff
    private let names: Mutex<[String]>
    private let cells: UnsafeMutablePointer<Atomic<UInt64>>
    private let cellCount: Int

    /// Upper bounds, in seconds, of the connect duration histogram's buckets (then `+Inf`).
    public static let connectBuckets: [Double] = [
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
    ]

    /// Counters for `workers` workers and `listeners`, all zero, with room for listeners that reloads add
    /// (`capacity` names in all).
    public init(listeners: [String], workers: Int, capacity: Int = 64) {
        names = Mutex(listeners)
        workerCount = max(workers, 1)
        listenerCapacity = max(capacity, listeners.count, 1)
        converterHoldOff = ConverterHoldOff(listeners: listenerCapacity)
        cellCount = workerCount * listenerCapacity * Slot.blockSize
        cells = .allocate(capacity: cellCount)
        for index in 0..<cellCount {
            (cells + index).initialize(to: Atomic(0))
        }
    }

    deinit {
        cells.deinitialize(count: cellCount)
        cells.deallocate()
    }

    /// The statistics index of the listener called `name`, added when new; nil when the counters are full.
    func index(of name: String) -> Int? {
        names.withLock { names in
            if let index = names.firstIndex(of: name) { return index }
            guard names.count < listenerCapacity else { return nil }
            names.append(name)
            return names.count - 1
        }
    }

    /// The counter `slot` of `worker` and `listener`, for the worker to add to.
    func cell(worker: Int, listener: Int, _ slot: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        cells + ((worker * listenerCapacity + listener) * Slot.blockSize + slot)
    }

    /// Adds `amount` to counter `slot` (a worker's own block).
    func add(worker: Int, listener: Int, _ slot: Int, _ amount: UInt64 = 1) {
        cell(worker: worker, listener: listener, slot).pointee.wrappingAdd(amount, ordering: .relaxed)
    }

    /// Counter `slot` of `worker`, summed over its listeners (for the worker's own stop line).
    func total(worker: Int, _ slot: Int) -> UInt64 {
        var sum: UInt64 = 0
        for listener in 0..<names.withLock({ $0.count }) {
            sum &+= cell(worker: worker, listener: listener, slot).pointee.load(ordering: .relaxed)
        }
        return sum
    }

    /// Counter `slot` of `listener`, summed over the workers.
    public func total(listener: Int, _ slot: Int) -> UInt64 {
        var sum: UInt64 = 0
        for worker in 0..<workerCount {
            sum &+= cell(worker: worker, listener: listener, slot).pointee.load(ordering: .relaxed)
        }
        return sum
    }

    /// Where each counter sits in a block.
    public enum Slot {
        /// Connections accepted.
        public static let accepted = 0
        /// Bytes delivered from the accepting side to the dialed side.
        public static let bytesToUpstream = 1
        /// Bytes delivered from the dialed side to the accepting side.
        public static let bytesToDownstream = 2
        /// MPTCP connections that fell back to plain TCP: accepted ones (convert) and dialed ones (forward,
        /// transparent).
        public static let fallbacks = 3
        /// Connections refused at accept because the worker's table was full.
        public static let refusedFull = 4
        /// Connections closed, by ``ConnectionResult/labels`` index.
        public static func closed(_ result: Int) -> Int { 5 + result }
        /// Convert Error TLVs sent (converter side), by ``ConvertErrorCode`` index.
        public static func convertErrorSent(_ code: Int) -> Int { closedEnd + code }
        /// Convert Error TLVs received (forward side), by ``ConvertErrorCode`` index.
        public static func convertErrorReceived(_ code: Int) -> Int { closedEnd + codeCount + code }
        /// Destinations refused by the converter's policy, by ``DestinationRefusal/allLabels`` index.
        public static func aclDenied(_ reason: Int) -> Int { closedEnd + 2 * codeCount + reason }
        /// Connect durations: observations in bucket `bucket` (the last one is `+Inf`).
        public static func connectBucket(_ bucket: Int) -> Int { histogramStart + bucket }
        /// Connect durations: nanoseconds observed in bucket `bucket`.
        public static func connectBucketNanoseconds(_ bucket: Int) -> Int {
            histogramStart + RelayStatistics.connectBuckets.count + 1 + bucket
        }

        /// Reads that found bytes on a socket whose readiness poll had not fired (the MPTCP stall that
        /// `Worker.probeStalledReads` works around, docs/RELIABILITY.md).
        public static let stalledReadsRecovered = histogramStart + 2 * (RelayStatistics.connectBuckets.count + 1)

        static let codeCount = ConvertErrorCode.allCases.count
        static let closedEnd = 5 + ConnectionResult.labels.count
        static let histogramStart = closedEnd + 2 * codeCount + DestinationRefusal.allLabels.count
        /// Accept completions that failed (EMFILE and the like; accept then pauses briefly).
        public static let acceptFailures = stalledReadsRecovered + 1
        /// MPTCP connects that failed because their path went away and were dialed again from another path.
        public static let redials = acceptFailures + 1
        /// Requests refused by client authentication, by ``AuthenticationFailure/index``.
        public static func authFailures(_ reason: Int) -> Int { redials + 1 + reason }
        /// Connections refused at accept because the worker already held its most header-less ones.
        public static let refusedPendingHeaders = redials + 1 + AuthenticationFailure.allCases.count
        /// Refusals closed without their Error TLV: the worker had sent `max_error_answers` this second.
        public static let errorAnswersSuppressed = refusedPendingHeaders + 1
        /// Writes that found room on a socket whose writability poll had not fired
        /// (`Worker.probeStalledReads`, its write side; docs/RELIABILITY.md finding 13).
        public static let stalledWritesRecovered = errorAnswersSuppressed + 1
        /// Receive buffers of stalled MPTCP sockets raised (`Worker.unblockReceive`, docs/RELIABILITY.md
        /// finding 13).
        public static let receiveBufferRaises = stalledWritesRecovered + 1
        static let blockSize = receiveBufferRaises + 1
    }

    /// The histogram bucket of a connect that took `nanoseconds`.
    static func connectBucket(nanoseconds: UInt64) -> Int {
        let seconds = Double(nanoseconds) / 1e9
        return connectBuckets.firstIndex { seconds <= $0 } ?? connectBuckets.count
    }
}

extension ConnectionResult {
    /// Every label, in a fixed order: the index of a result's label is its counter index.
    public static let labels = [
        "completed", "downstream_reset", "upstream_reset", "connect_failed", "connect_timeout",
        "header_timeout", "bad_request", "destination_refused", "converter_error", "bad_response",
        "loop_refused", "no_path", "idle_timeout", "resource_exhausted", "shutdown", "unauthorized",
        "converter_backoff",
    ]

    /// The index of ``label`` in ``labels``.
    var labelIndex: Int {
        switch self {
        case .completed: 0
        case .downstreamReset: 1
        case .upstreamReset: 2
        case .connectFailed: 3
        case .connectTimeout: 4
        case .headerTimeout: 5
        case .badRequest: 6
        case .destinationRefused: 7
        case .converterError: 8
        case .badResponse: 9
        case .loopRefused: 10
        case .noPath: 11
        case .idleTimeout: 12
        case .resourceExhausted: 13
        case .shutdown: 14
        case .unauthorized: 15
        case .converterBackoff: 16
        }
    }
}

extension DestinationRefusal {
    /// Every reason's label, in counter order.
    public static let allLabels = allCases.map(\.rawValue)

    /// The index of this reason in ``allLabels``.
    var labelIndex: Int { Self.allLabels.firstIndex(of: rawValue) ?? 0 }
}

extension ConvertErrorCode {
    /// The index of this code in `allCases`.
    var counterIndex: Int { Self.allCases.firstIndex(of: self) ?? 0 }
}

import ClientAuthentication
import ConvertProtocol
public import PathManager
import Prometheus
public import RelayCore

/// Brings the relay's state into Prometheus form at scrape time: the workers' counters (summed), the
/// path board, and the subflows of every live connection; then renders the text exposition.
///
/// The data path never sees this type: workers only add to their own atomic counters, and subflow figures
/// are read when a scrape asks the workers for their connections. Scrapes are serialized: one that
/// arrives while another runs waits for it and gets the same text.
public actor MetricsCollector {
    let registry = PrometheusCollectorRegistry()
    /// The engine whose counters and connections are exposed.
    public let engine: RelayEngine
    /// The paths, when the relay manages any.
    public let board: PathBoard?
    private var feeds: [CounterFeed] = []
    private var activeGauges: [(listener: Int, gauge: Gauge)] = []
    private var histograms: [(listener: Int, histogram: DurationHistogram, last: [UInt64], lastNanoseconds: [UInt64])] =
        []
    private var pathGauges: [(up: Gauge, subflows: Gauge)] = []
    /// `mptcp_relay_path_manager_connections`, when the relay is the path manager.
    private var trackedGauge: Gauge?
    /// With `[health]`, by path: the degraded, loss and RTT gauges.
    private var healthGauges: [(degraded: Gauge, loss: Gauge, rtt: Gauge)] = []
    /// By path with a quota: its index and the used and remaining gauges.
    private var quotaGauges: [(path: Int, used: Gauge, remaining: Gauge)] = []
    private let pipeGauges: (inUse: Gauge, idle: Gauge)
    private var pathBytes: [(sent: Counter, received: Counter)] = []
    /// By path: the byte totals exported so far (they only grow).
    private var exportedPathBytes: [PathByteCount] = []
    private var inFlight: Task<[UInt8], Never>?
    /// Listeners (statistics indices) whose instruments exist; a reload may add more.
    private var instrumentedListeners = 0
    /// `mptcp_relay_io_uring_fallback`: which backend the started engine runs on.
    private let fallbackGauge: Gauge

    /// A collector for `engine` and, when paths are managed, `board`.
    public init(engine: RelayEngine, board: PathBoard?) {
        self.engine = engine
        self.board = board
        let statistics = engine.statistics
        let registry = self.registry
        registry.gauge(
            "mptcp_relay_build_info",
            [("version", RelayVersion.current)],
            help: "Always 1; the labels say which build runs."
        ).set(to: 1)
        fallbackGauge = registry.gauge(
            "mptcp_relay_io_uring_fallback",
            help: "1 when the workers run on epoll instead of io_uring, 0 on io_uring."
        )
        let pipesHelp =
            "Splice pipes: in_use by connections (bytes in flight), idle in the workers' pools (at most 256 each)."
        pipeGauges = (
            registry.gauge("mptcp_relay_pipes", [("state", "in_use")], help: pipesHelp),
            registry.gauge("mptcp_relay_pipes", [("state", "idle")], help: pipesHelp)
        )
        var feeds: [CounterFeed] = []
        for (listener, name) in statistics.listenerNames.enumerated() {
            let instruments = Self.instruments(registry: registry, listener: listener, name: name)
            feeds += instruments.feeds
            activeGauges.append(instruments.active)
            histograms.append(instruments.histogram)
        }
        instrumentedListeners = statistics.listenerNames.count
        self.feeds = feeds
        if let board {
            if board.plan.mode == .relay {
                self.feeds.append(
                    CounterFeed(
                        counter: registry.counter(
                            "mptcp_relay_subflows_refused_total",
                            help:
                                "Subflows the relay path manager destroyed because it did not open them (the peer's joins)."
                        ),
                        source: .refusedSubflows
                    )
                )
                self.feeds.append(
                    CounterFeed(
                        counter: registry.counter(
                            "mptcp_relay_path_manager_stale_connections_total",
                            help:
                                "Connections dropped from the path manager's table because the kernel no longer knew them (it sends no CLOSED event after a peer's MP_FASTCLOSE)."
                        ),
                        source: .staleConnections
                    )
                )
                trackedGauge = registry.gauge(
                    "mptcp_relay_path_manager_connections",
                    help: "Connections in the relay path manager's table: the relay's own and those peers opened."
                )
            }
            for path in board.plan.paths where board.plan.health != nil {
                let label = ("path", path.name)
                healthGauges.append(
                    (
                        registry.gauge(
                            "mptcp_relay_path_degraded",
                            [label],
                            help: "1 while the health checks find the path degraded (lossy or slow), else 0."
                        ),
                        registry.gauge(
                            "mptcp_relay_path_loss_ratio",
                            [label],
                            help: "Smoothed share of the bytes the path's subflows sent that were retransmitted."
                        ),
                        registry.gauge(
                            "mptcp_relay_path_rtt_seconds",
                            [label],
                            help: "Mean smoothed RTT of the path's subflows when they last carried traffic."
                        )
                    )
                )
            }
            for (index, path) in board.plan.paths.enumerated() where path.quota != nil {
                quotaGauges.append(
                    (
                        index,
                        registry.gauge(
                            "mptcp_relay_path_quota_used_bytes",
                            [("path", path.name)],
                            help: "Bytes the path carried in its current quota period (sent and received)."
                        ),
                        registry.gauge(
                            "mptcp_relay_path_quota_remaining_bytes",
                            [("path", path.name)],
                            help: "Bytes left of the path's quota this period; 0: used only when no other path is up."
                        )
                    )
                )
            }
            for (index, path) in board.plan.paths.enumerated() {
                let label = ("path", path.name)
                pathGauges.append(
                    (
                        registry.gauge(
                            "mptcp_relay_path_up",
                            [label, ("class", path.pathClass.rawValue)],
                            help: "1 while the path is up (link, carrier, address, route), else 0."
                        ),
                        registry.gauge(
                            "mptcp_relay_path_subflows",
                            [label],
                            help: "Subflows of relayed connections open on the path."
                        )
                    )
                )
                pathBytes.append(
                    (
                        registry.counter(
                            "mptcp_relay_path_bytes_sent_total",
                            [label],
                            help: "Bytes sent and acknowledged on the path's subflows (TCP_INFO)."
                        ),
                        registry.counter(
                            "mptcp_relay_path_bytes_received_total",
                            [label],
                            help: "Bytes received on the path's subflows (TCP_INFO)."
                        )
                    )
                )
                for (direction, slot) in [("up", PathCounter.wentUp), ("down", PathCounter.wentDown)] {
                    self.feeds.append(
                        CounterFeed(
                            counter: registry.counter(
                                "mptcp_relay_path_transitions_total",
                                [label, ("to", direction)],
                                help: "Times the path went up or down."
                            ),
                            path: index,
                            pathCounter: slot
                        )
                    )
                }
                self.feeds.append(
                    CounterFeed(
                        counter: registry.counter(
                            "mptcp_relay_path_backup_promotions_total",
                            [label],
                            help: "Backup subflows opened or un-flagged on the path because no primary was left."
                        ),
                        path: index,
                        pathCounter: .promotions
                    )
                )
            }
        }
    }

    /// The text exposition of every metric, current as of this call.
    public func render() async -> [UInt8] {
        if let inFlight { return await inFlight.value }
        let task = Task { await self.collect() }
        inFlight = task
        let text = await task.value
        inFlight = nil
        return text
    }

    /// The counters, gauge and histogram of one listener (at start, and for listeners a reload adds).
    private struct ListenerInstruments {
        var feeds: [CounterFeed]
        var active: (listener: Int, gauge: Gauge)
        var histogram: (listener: Int, histogram: DurationHistogram, last: [UInt64], lastNanoseconds: [UInt64])
    }

    private static func instruments(
        registry: PrometheusCollectorRegistry,
        listener: Int,
        name: String
    ) -> ListenerInstruments {
        var feeds: [CounterFeed] = []
        func feed(_ name: String, _ labels: [(String, String)], _ help: String, listener: Int, slot: Int) {
            feeds.append(
                CounterFeed(
                    counter: registry.counter(name, labels, help: help),
                    listener: listener,
                    slot: slot
                )
            )
        }
        let label = ("listener", name)
        feed(
            "mptcp_relay_connections_accepted_total",
            [label],
            "Connections accepted.",
            listener: listener,
            slot: RelayStatistics.Slot.accepted
        )
        for (index, result) in ConnectionResult.labels.enumerated() {
            feed(
                "mptcp_relay_connections_closed_total",
                [label, ("result", result)],
                "Connections closed, by how they ended.",
                listener: listener,
                slot: RelayStatistics.Slot.closed(index)
            )
        }
        feed(
            "mptcp_relay_connections_refused_total",
            [label, ("reason", "table_full")],
            "Connections refused at accept.",
            listener: listener,
            slot: RelayStatistics.Slot.refusedFull
        )
        feed(
            "mptcp_relay_connections_refused_total",
            [label, ("reason", "pending_headers")],
            "Connections refused at accept.",
            listener: listener,
            slot: RelayStatistics.Slot.refusedPendingHeaders
        )
        feed(
            "mptcp_relay_convert_error_answers_suppressed_total",
            [label],
            "Convert refusals closed without their Error TLV: the worker had sent max_error_answers that second.",
            listener: listener,
            slot: RelayStatistics.Slot.errorAnswersSuppressed
        )
        feed(
            "mptcp_relay_bytes_total",
            [label, ("direction", "upstream")],
            "Bytes relayed: upstream is from the accepting side to the dialed side.",
            listener: listener,
            slot: RelayStatistics.Slot.bytesToUpstream
        )
        feed(
            "mptcp_relay_bytes_total",
            [label, ("direction", "downstream")],
            "Bytes relayed: upstream is from the accepting side to the dialed side.",
            listener: listener,
            slot: RelayStatistics.Slot.bytesToDownstream
        )
        feed(
            "mptcp_relay_mptcp_fallbacks_total",
            [label],
            "MPTCP connections that fell back to plain TCP (accepted on convert, dialed on forward and transparent).",
            listener: listener,
            slot: RelayStatistics.Slot.fallbacks
        )
        feed(
            "mptcp_relay_stalled_reads_recovered_total",
            [label],
            "Reads that found bytes waiting although the socket's readiness never fired (a kernel MPTCP stall).",
            listener: listener,
            slot: RelayStatistics.Slot.stalledReadsRecovered
        )
        feed(
            "mptcp_relay_stalled_writes_recovered_total",
            [label],
            "Writes that found room although the socket's writability never fired (bytes held in a pipe).",
            listener: listener,
            slot: RelayStatistics.Slot.stalledWritesRecovered
        )
        feed(
            "mptcp_relay_receive_buffer_raises_total",
            [label],
            "Receive buffers of silent MPTCP sockets, half full or more of data beyond a hole, raised so it can be filled.",
            listener: listener,
            slot: RelayStatistics.Slot.receiveBufferRaises
        )
        feed(
            "mptcp_relay_accept_failures_total",
            [label],
            "Accepts that failed, out of descriptors (EMFILE) or memory above all; accept then pauses 100 ms.",
            listener: listener,
            slot: RelayStatistics.Slot.acceptFailures
        )
        feed(
            "mptcp_relay_path_redials_total",
            [label],
            "MPTCP connects that failed because their path went away (unreachable) and were tried again on the policy's next up path.",
            listener: listener,
            slot: RelayStatistics.Slot.redials
        )
        for (index, code) in ConvertErrorCode.allCases.enumerated() {
            feed(
                "mptcp_relay_convert_errors_total",
                [label, ("code", code.description), ("direction", "sent")],
                "RFC 8803 Error TLVs sent (converter) and received (forward side), by code.",
                listener: listener,
                slot: RelayStatistics.Slot.convertErrorSent(index)
            )
            feed(
                "mptcp_relay_convert_errors_total",
                [label, ("code", code.description), ("direction", "received")],
                "RFC 8803 Error TLVs sent (converter) and received (forward side), by code.",
                listener: listener,
                slot: RelayStatistics.Slot.convertErrorReceived(index)
            )
        }
        for failure in AuthenticationFailure.allCases {
            feed(
                "mptcp_relay_auth_failures_total",
                [label, ("reason", failure.rawValue)],
                "Requests a converter refused before connecting anywhere: no, bad, stale or replayed cookie, or a client over its limits.",
                listener: listener,
                slot: RelayStatistics.Slot.authFailures(failure.index)
            )
        }
        for (index, reason) in DestinationRefusal.allLabels.enumerated() {
            feed(
                "mptcp_relay_acl_denials_total",
                [label, ("reason", reason)],
                "Destinations the converter refused, by reason.",
                listener: listener,
                slot: RelayStatistics.Slot.aclDenied(index)
            )
        }
        let active = registry.gauge("mptcp_relay_connections_active", [label], help: "Connections open now.")
        let buckets = RelayStatistics.connectBuckets.map { Duration.nanoseconds(Int64($0 * 1e9)) }
        let histogram = (
            listener,
            registry.durationHistogram(
                "mptcp_relay_connect_duration_seconds",
                [label],
                buckets: buckets,
                help: "Time the outbound connect took (MPTCP to the converter, or TCP to the destination)."
            ),
            [UInt64](repeating: 0, count: buckets.count + 1),
            [UInt64](repeating: 0, count: buckets.count + 1)
        )
        return ListenerInstruments(feeds: feeds, active: (listener, active), histogram: histogram)
    }

    /// Adds the instruments of listeners a reload added since the last scrape.
    private func instrumentNewListeners() {
        let names = engine.statistics.listenerNames
        guard names.count > instrumentedListeners else { return }
        for listener in instrumentedListeners..<names.count {
            let instruments = Self.instruments(registry: registry, listener: listener, name: names[listener])
            feeds += instruments.feeds
            activeGauges.append(instruments.active)
            histograms.append(instruments.histogram)
        }
        instrumentedListeners = names.count
    }

    private func collect() async -> [UInt8] {
        instrumentNewListeners()
        let snapshot = await engine.snapshot(detailed: false)
        // No worker answered in time: keep the gauges as they were rather than report zeros.
        let answered = snapshot.workersAnswered > 0
        let statistics = engine.statistics
        fallbackGauge.set(to: engine.ioBackend == .epoll ? 1 : 0)
        for index in feeds.indices {
            let total = feeds[index].read(statistics: statistics, board: board)
            if total > feeds[index].last {
                feeds[index].counter.increment(by: Int64(total - feeds[index].last))
                feeds[index].last = total
            }
        }
        for (listener, gauge) in activeGauges where answered {
            gauge.set(to: Double(listener < snapshot.activeByListener.count ? snapshot.activeByListener[listener] : 0))
        }
        if answered {
            pipeGauges.inUse.set(to: Double(snapshot.pipes.inUse))
            pipeGauges.idle.set(to: Double(snapshot.pipes.idle))
        }
        for index in histograms.indices {
            replayConnectDurations(index, statistics: statistics)
        }
        if let board {
            trackedGauge?.set(to: Double(board.trackedConnectionCount))
            for (path, gauges) in healthGauges.enumerated() {
                let measured = board.measurements(of: path)
                gauges.degraded.set(to: board.degradedPaths & (1 << UInt64(path)) != 0 ? 1 : 0)
                gauges.loss.set(to: measured.loss)
                gauges.rtt.set(to: Double(measured.rttMicroseconds) / 1e6)
            }
            for (path, used, remaining) in quotaGauges {
                let quota = board.plan.paths[path].quota?.bytes ?? 0
                let count = board.quotaUsed(of: path)
                used.set(to: Double(count))
                remaining.set(to: Double(quota > count ? quota - count : 0))
            }
        }
        if let board, answered {
            for (path, gauges) in pathGauges.enumerated() {
                gauges.up.set(to: board.isUp(path) ? 1 : 0)
                let subflows = path < snapshot.liveSubflowsByPath.count ? snapshot.liveSubflowsByPath[path] : 0
                gauges.subflows.set(to: Double(subflows))
            }
            // Closed connections' subflows (counted by the workers at each close) plus the live ones now.
            var totals = snapshot.closedPathBytes
            while totals.count < board.plan.paths.count { totals.append(PathByteCount()) }
            for (path, live) in snapshot.livePathBytes.enumerated() where path < totals.count {
                totals[path].sent &+= live.sent
                totals[path].received &+= live.received
            }
            while exportedPathBytes.count < totals.count { exportedPathBytes.append(PathByteCount()) }
            for path in pathBytes.indices {
                // A subflow closed in mid-connection takes its figures with it: hold, never go back.
                if totals[path].sent > exportedPathBytes[path].sent {
                    pathBytes[path].sent.increment(by: Int64(totals[path].sent - exportedPathBytes[path].sent))
                    exportedPathBytes[path].sent = totals[path].sent
                }
                if totals[path].received > exportedPathBytes[path].received {
                    pathBytes[path].received.increment(
                        by: Int64(totals[path].received - exportedPathBytes[path].received)
                    )
                    exportedPathBytes[path].received = totals[path].received
                }
            }
        }
        return registry.emitToBuffer()
    }

    /// Records the connect durations observed since the last scrape: per bucket, as many observations of
    /// their mean as there were (the mean lies in the same bucket), so counts and sum stay exact.
    private func replayConnectDurations(_ index: Int, statistics: RelayStatistics) {
        let listener = histograms[index].listener
        for bucket in 0...RelayStatistics.connectBuckets.count {
            let count = statistics.total(listener: listener, RelayStatistics.Slot.connectBucket(bucket))
            let nanoseconds = statistics.total(
                listener: listener,
                RelayStatistics.Slot.connectBucketNanoseconds(bucket)
            )
            let newCount = count &- histograms[index].last[bucket]
            let newNanoseconds = nanoseconds &- histograms[index].lastNanoseconds[bucket]
            guard count > histograms[index].last[bucket], newCount > 0 else { continue }
            let mean = Int64(newNanoseconds / newCount)
            for _ in 0..<newCount {
                histograms[index].histogram.record(.nanoseconds(mean))
            }
            histograms[index].last[bucket] = count
            histograms[index].lastNanoseconds[bucket] = nanoseconds
        }
    }
}

/// One Prometheus counter fed from a monotonic source: an engine counter of one listener, or a path counter.
struct CounterFeed {
    let counter: Counter
    var last: UInt64 = 0
    let source: Source

    enum Source {
        case statistic(listener: Int, slot: Int)
        case path(Int, PathCounter)
        case refusedSubflows
        case staleConnections
    }

    init(counter: Counter, listener: Int, slot: Int) {
        self.counter = counter
        self.source = .statistic(listener: listener, slot: slot)
    }

    init(counter: Counter, path: Int, pathCounter: PathCounter) {
        self.counter = counter
        self.source = .path(path, pathCounter)
    }

    init(counter: Counter, source: Source) {
        self.counter = counter
        self.source = source
    }

    func read(statistics: RelayStatistics, board: PathBoard?) -> UInt64 {
        switch source {
        case .statistic(let listener, let slot):
            return statistics.total(listener: listener, slot)
        case .path(let path, let which):
            guard let counters = board?.counters(of: path) else { return 0 }
            switch which {
            case .wentUp: return counters.wentUp
            case .wentDown: return counters.wentDown
            case .promotions: return counters.promotions
            }
        case .refusedSubflows:
            return board?.refusedSubflowCount ?? 0
        case .staleConnections:
            return board?.staleConnectionCount ?? 0
        }
    }
}

/// The path board's counters.
enum PathCounter {
    case wentUp
    case wentDown
    case promotions
}

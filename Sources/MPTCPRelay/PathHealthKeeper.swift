import Logging
import PathManager
import RelayCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs the passive health checks while the relay runs (`[health]`): takes in the engine's live subflows
/// every second (``PathSampler``), marks degraded paths on the board (the path manager then closes their subflows and opens
/// no new ones there while a healthy primary is up), publishes what it measured for `/metrics` and
/// `status`, and logs each change.
final class PathHealthKeeper: Sendable {
    private let board: PathBoard
    private let logger: Logger
    private let monitor: Mutex<PathHealthMonitor>

    /// A keeper for `board`'s paths; nil without `[health]`.
    init?(board: PathBoard, logger: Logger) {
        guard let settings = board.plan.health else { return nil }
        self.board = board
        self.logger = logger
        monitor = Mutex(PathHealthMonitor(settings: settings, count: board.plan.paths.count))
    }

    /// Takes in one complete engine snapshot (``PathSampler``).
    func record(_ snapshot: EngineSnapshot) {
        sample(snapshot.livePathHealth, at: Self.monotonicMilliseconds())
    }

    /// Takes in one probe of path `index` (``PathProber``): its connect time, or nil when unanswered.
    func recordProbe(_ index: Int, rttMilliseconds: Double?, linkUp: Bool) {
        let now = Self.monotonicMilliseconds()
        let events = monitor.withLock { monitor in
            let events = monitor.recordProbe(index, rttMilliseconds: rttMilliseconds, linkUp: linkUp, now: now)
            publish(events, monitor.paths)
            return events
        }
        log(events)
    }

    private func sample(_ samples: [PathHealthSample], at now: Int64) {
        // The link state, not upPaths: an unreachable path (failing probes) keeps its health state and trials.
        let events = monitor.withLock { monitor in
            let events = monitor.record(samples, up: board.linkUpPaths, now: now)
            publish(events, monitor.paths)
            return events
        }
        log(events)
    }

    /// Writes the states and verdicts to the board; called under the monitor's lock, so that the sampler and
    /// the prober never publish out of order.
    private func publish(_ events: [PathHealthMonitor.Event], _ states: [PathHealthMonitor.PathState]) {
        for event in events {
            switch event {
            case .unreachable(let index): board.setUnreachable(index, true)
            case .reachable(let index): board.setUnreachable(index, false)
            default: break
            }
        }
        for (index, state) in states.enumerated() {
            board.setDegraded(index, state.degraded)
            board.setMeasurements(
                of: index,
                loss: state.loss ?? 0,
                rttMicroseconds: UInt64(max(0, state.rttMilliseconds * 1000))
            )
        }
    }

    private func log(_ events: [PathHealthMonitor.Event]) {
        for event in events {
            switch event {
            case .degraded(let index, let loss, let rtt, let retry):
                logger.warning(
                    "path degraded: its subflows close and it gets no new ones while a healthy primary is up",
                    metadata: [
                        "path": "\(board.plan.paths[index].name)",
                        "loss": "\(Self.percent(loss))", "rtt_ms": "\(Int(rtt.rounded()))",
                        "trial_in_s": "\(retry / 1000)",
                    ]
                )
            case .recovered(let index):
                logger.notice("path healthy again", metadata: ["path": "\(board.plan.paths[index].name)"])
            case .unreachable(let index):
                logger.warning(
                    "path unreachable: its probes go unanswered; it counts as down until they are answered",
                    metadata: [
                        "path": "\(board.plan.paths[index].name)",
                        "target": "\(board.plan.paths[index].probe.map { "\($0.target)" } ?? "-")",
                        "failed": "\(PathHealthMonitor.unreachableAfter)",
                    ]
                )
            case .reachable(let index):
                board.setUnreachable(index, false)
                logger.notice(
                    "path reachable again: its probes are answered",
                    metadata: ["path": "\(board.plan.paths[index].name)"]
                )
            }
        }
    }

    static func percent(_ share: Double) -> String {
        "\((share * 1000).rounded() / 10)%"
    }

    static func monotonicMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}

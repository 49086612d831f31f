import ConvertProtocol
import PathManager
import RelayCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Runs the paths' active probes (`[[path]] probe`) on a thread of its own: every interval, a nonblocking
/// TCP connect from the path's source address (and interface) to its target, given up after the probe's
/// timeout; the answer (a completed connect or a reset: the SYN went there and back) or its absence goes to
/// the health checks (`PathHealthKeeper.recordProbe`). Each probe socket is closed with a reset (no
/// TIME_WAIT, nothing left at the target). One probe per path at a time; a path that is down, or has no
/// source of the target's family, is not probed.
final class PathProber: Sendable {
    private let board: PathBoard
    private let keeper: PathHealthKeeper
    private let stopping = Atomic<Bool>(false)
    /// The paths with a probe, by index.
    private let probed: [(index: Int, probe: PathProbe)]

    /// A prober for `board`'s paths that have a probe; nil when none has.
    init?(board: PathBoard, keeper: PathHealthKeeper) {
        let probed = board.plan.paths.enumerated().compactMap { index, path in
            path.probe.map { (index: index, probe: $0) }
        }
        guard !probed.isEmpty else { return nil }
        self.board = board
        self.keeper = keeper
        self.probed = probed
    }

    /// Starts the probing thread; it runs until ``stop()``.
    func start() throws -> JoinableThread {
        try WorkerThread.spawn(name: "path-probes") { [self] in run() }
    }

    /// Ends the probing thread within a tenth of a second.
    func stop() {
        stopping.store(true, ordering: .releasing)
    }

    /// One probe in flight.
    private struct InFlight {
        var index: Int
        var fd: Int32
        var started: Int64
        var deadline: Int64
    }

    private func run() {
        var due = [Int64](repeating: 0, count: probed.count)
        var inFlight: [InFlight?] = Array(repeating: nil, count: probed.count)
        while !stopping.load(ordering: .acquiring) {
            let now = PathHealthKeeper.monotonicMilliseconds()
            for (slot, entry) in probed.enumerated() where inFlight[slot] == nil && now >= due[slot] {
                due[slot] = now + entry.probe.intervalMilliseconds
                inFlight[slot] = begin(entry.index, entry.probe, now: now)
            }
            var descriptors = inFlight.compactMap { $0 }.map { pollfd(fd: $0.fd, events: Int16(POLLOUT), revents: 0) }
            _ = poll(&descriptors, nfds_t(descriptors.count), 100)
            let after = PathHealthKeeper.monotonicMilliseconds()
            for slot in inFlight.indices {
                guard let probe = inFlight[slot] else { continue }
                let ready = descriptors.first { $0.fd == probe.fd }.map { $0.revents != 0 } ?? false
                if ready {
                    let answered = ProbeConnect.answered(probe.fd)
                    finish(probe, rttMilliseconds: answered ? Double(after - probe.started) : nil)
                    inFlight[slot] = nil
                } else if after >= probe.deadline {
                    finish(probe, rttMilliseconds: nil)
                    inFlight[slot] = nil
                }
            }
        }
        for probe in inFlight.compactMap({ $0 }) { ProbeConnect.close(probe.fd) }
    }

    /// Starts one probe's connect; nil when the path cannot be probed now (down, no source address of the
    /// target's family) or the connect ended at once (then already recorded).
    private func begin(_ index: Int, _ probe: PathProbe, now: Int64) -> InFlight? {
        guard board.linkUpPaths & (1 << UInt64(index)) != 0 else {
            // A path that is down: its count and any unreachable verdict are forgotten.
            record(index, rttMilliseconds: nil)
            return nil
        }
        guard let source = board.source(of: index, for: probe.target.address) else { return nil }
        switch ProbeConnect.start(from: source, device: board.plan.paths[index].interface, to: probe.target) {
        case .inFlight(let fd):
            return InFlight(index: index, fd: fd, started: now, deadline: now + probe.timeoutMilliseconds)
        case .answered:
            record(index, rttMilliseconds: 0)
        case .failed:
            record(index, rttMilliseconds: nil)
        case .skipped:
            break
        }
        return nil
    }

    private func finish(_ probe: InFlight, rttMilliseconds: Double?) {
        ProbeConnect.close(probe.fd)
        record(probe.index, rttMilliseconds: rttMilliseconds)
    }

    private func record(_ index: Int, rttMilliseconds: Double?) {
        let linkUp = board.linkUpPaths & (1 << UInt64(index)) != 0
        keeper.recordProbe(index, rttMilliseconds: rttMilliseconds, linkUp: linkUp)
    }
}

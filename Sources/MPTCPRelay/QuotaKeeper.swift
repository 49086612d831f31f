import Foundation
import Logging
import PathManager
import RelayCore
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Keeps the paths' quotas while the relay runs: loads the counts at start and marks used-up paths on the
/// board before the first connection, takes in the engine's per-path bytes every second (``PathSampler``),
/// publishes the counts
/// (for `/metrics` and `/connections`), logs when a path uses up its quota or starts a new period, and
/// saves the counts every 10 seconds while they change and at stop.
final class QuotaKeeper: Sendable {
    /// The file the counts live in.
    let file: String
    /// The state directory that holds it.
    let directory: String
    private let board: PathBoard
    private let logger: Logger
    private let accountant: Mutex<QuotaAccountant>
    /// Held while the file is written: the sampling task and the stop path may both save.
    private let saving = Mutex<Void>(())
    /// When the counts were last saved by ``record(_:)``.
    private let lastSave = Mutex(ContinuousClock.now)
    /// How often changed counts are saved (and at stop).
    static let saveInterval: Duration = .seconds(10)

    /// A keeper for the capped paths of `board`'s plan, with its counts in `stateDirectory`; nil when no path
    /// has a quota.
    init?(board: PathBoard, stateDirectory: String, logger: Logger) {
        guard board.plan.paths.contains(where: { $0.quota != nil }) else { return nil }
        self.board = board
        self.logger = logger
        directory = stateDirectory
        file = (stateDirectory as NSString).appendingPathComponent(QuotaLedger.fileName)
        var ledger = QuotaLedger()
        do {
            ledger = try QuotaLedger.load(from: file)
        } catch {
            logger.error(
                "could not read the paths' quota counts; counting from zero",
                metadata: ["file": "\(file)", "error": "\(error)"]
            )
        }
        accountant = Mutex(QuotaAccountant(paths: board.plan.paths, ledger: ledger))
    }

    /// Applies the saved counts to the board (a path already over its quota is marked before the first
    /// connection), and creates the state directory so that it can be handed to `[runtime] user`.
    func prime() {
        _ = mkdir(directory, 0o750)
        sample(totals: [])
    }

    /// Takes in one complete engine snapshot (``PathSampler``), and saves when the last save is older than
    /// ``saveInterval``.
    func record(_ snapshot: EngineSnapshot) {
        var totals = snapshot.closedPathBytes.map { $0.sent &+ $0.received }
        for (path, live) in snapshot.livePathBytes.enumerated() {
            if path >= totals.count { totals.append(0) }
            totals[path] &+= live.sent &+ live.received
        }
        sample(totals: totals)
        let now = ContinuousClock.now
        let due = lastSave.withLock { last in
            guard now - last >= Self.saveInterval else { return false }
            last = now
            return true
        }
        if due { save() }
    }

    /// Records one sample, and publishes and logs what it changed.
    private func sample(totals: [UInt64]) {
        let (events, used, exhausted) = accountant.withLock { accountant in
            let events = accountant.record(totals: totals, at: Date())
            return (events, board.plan.paths.indices.map { accountant.used($0) }, accountant.exhausted)
        }
        for (index, path) in board.plan.paths.enumerated() where path.quota != nil {
            board.setQuotaUsed(of: index, used[index])
            board.setExhausted(index, exhausted[index])
        }
        for event in events {
            switch event {
            case .usedUp(let index, let bytes):
                let path = board.plan.paths[index]
                logger.warning(
                    "path used up its quota: it carries subflows only when no other path of a policy is up",
                    metadata: [
                        "path": "\(path.name)", "used_bytes": "\(bytes)", "quota_bytes": "\(path.quota?.bytes ?? 0)",
                        "until":
                            "\(path.quota.map { ISO8601DateFormatter().string(from: $0.nextPeriodStart(after: Date())) } ?? "-")",
                    ]
                )
            case .periodStarted(let index, let start):
                logger.notice(
                    "a new quota period began: the path's count starts from zero",
                    metadata: [
                        "path": "\(board.plan.paths[index].name)",
                        "since": "\(ISO8601DateFormatter().string(from: start))",
                    ]
                )
            }
        }
    }

    /// Saves the counts when they changed; a failure is logged (and retried at the next save).
    func save() {
        saving.withLock { _ in saveLocked() }
    }

    private func saveLocked() {
        let ledger: QuotaLedger? = accountant.withLock { $0.dirty ? $0.ledger : nil }
        guard let ledger else { return }
        if let error = ledger.save(to: file) {
            logger.error(
                "could not save the paths' quota counts",
                metadata: ["file": "\(file)", "error": "\(String(cString: strerror(error)))"]
            )
            return
        }
        accountant.withLock { accountant in
            if accountant.ledger == ledger { accountant.markSaved() }
        }
    }
}

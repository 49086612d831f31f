import RelayCore

/// One engine snapshot a second for whatever watches the paths: the quotas and the health checks read the
/// same per-path figures, so they share one snapshot (two would read every MPTCP connection's subflows twice).
/// Only complete snapshots are passed on: a worker missing from one would make its bytes vanish and then
/// count twice.
struct PathSampler {
    /// How often the engine is sampled.
    static let interval: Duration = .seconds(1)

    let quotas: QuotaKeeper?
    let health: PathHealthKeeper?

    /// Whether there is anything to sample for.
    var isNeeded: Bool { quotas != nil || health != nil }

    /// Samples `engine` every second until the task is cancelled; then saves the quota counts.
    func run(engine: RelayEngine) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.interval)
            if Task.isCancelled { break }
            let snapshot = await engine.snapshot(detailed: false)
            guard snapshot.workersAnswered == engine.settings.workers else { continue }
            quotas?.record(snapshot)
            health?.record(snapshot)
        }
        quotas?.save()
    }
}

import Synchronization

/// What other threads ask of one worker, beside its ring: stop, or describe your live connections.
/// Requests are flags; the worker sees them when its wake eventfd fires, and hands a snapshot back
/// through a mutex (scrape time only, never the data path).
final class WorkerControl: Sendable {
    /// Set before the wake eventfd is written: the worker begins to stop.
    let stopRequested = Atomic<Bool>(false)
    /// Set before the wake eventfd is written: a stopping worker resets what is left instead of draining.
    let stopNowRequested = Atomic<Bool>(false)
    /// Set before the wake eventfd is written: the worker takes a snapshot and delivers it.
    let snapshotRequested = Atomic<Bool>(false)
    /// Set before ``snapshotRequested`` when the snapshot must describe every connection.
    let detailRequested = Atomic<Bool>(false)
    private let delivered = Mutex<EngineSnapshot?>(nil)
    /// Set before the wake eventfd is written: a reload waits in `pendingReload`.
    let reloadRequested = Atomic<Bool>(false)
    private let pendingReload = Mutex<[WorkerReload]>([])
    /// Reloads this worker has applied (the engine waits for it to move).
    let reloadsApplied = Atomic<Int>(0)

    /// Queues a reload for the worker (the caller then writes the wake eventfd).
    func request(_ reload: WorkerReload) {
        pendingReload.withLock { $0.append(reload) }
        reloadRequested.store(true, ordering: .releasing)
    }

    /// The queued reloads, in order, taken.
    func takeReloads() -> [WorkerReload] {
        pendingReload.withLock { queue in
            defer { queue = [] }
            return queue
        }
    }

    /// The worker hands over its snapshot.
    func deliver(_ snapshot: EngineSnapshot) {
        delivered.withLock { $0 = snapshot }
    }

    /// The delivered snapshot, taken (nil until the worker delivered one).
    func takeSnapshot() -> EngineSnapshot? {
        delivered.withLock { value in
            defer { value = nil }
            return value
        }
    }
}

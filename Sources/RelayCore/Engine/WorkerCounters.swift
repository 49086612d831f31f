/// A worker's running totals, kept by its own thread without locks. The metrics issue will publish them
/// (summed over workers at scrape time); today they are logged when a worker stops.
struct WorkerCounters {
    /// Connections accepted on any listener.
    var accepted: UInt64 = 0
    /// Accepted MPTCP-listener connections whose client spoke plain TCP (MPTCP fallback).
    var fallbacks: UInt64 = 0
    /// Connections refused because the worker's table was full.
    var refusedFull: UInt64 = 0
    /// Transparent connections refused because their destination is this host (`loop_refused`).
    var loopsRefused: UInt64 = 0
    /// Connections refused or closed because no path their subflow policy allows was up (`no_path`).
    var noPath: UInt64 = 0
    /// Connections whose policy's congestion control the kernel refused (they keep the default).
    var congestionRefused: UInt64 = 0
    /// Connections closed with `ConnectionResult.completed`.
    var completed: UInt64 = 0
    /// Connections closed with any other result.
    var failed: UInt64 = 0
    /// Bytes relayed towards upstream and towards downstream, counted at close.
    var bytesUp: UInt64 = 0
    var bytesDown: UInt64 = 0
}

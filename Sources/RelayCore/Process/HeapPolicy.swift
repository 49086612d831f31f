internal import CLiburing

/// How the relay's heap gives memory back: glibc malloc thresholds fixed, not raised by large frees.
///
/// glibc raises its mmap threshold to the size of each large block freed (up to 32 MiB), and its trim
/// threshold to twice that; from then on blocks of that size come from a thread's heap, whose top is
/// never returned while the trim threshold stays raised (and `malloc_trim` does not release a thread
/// heap's top). A metrics scrape with 8 000 connections open builds their snapshots (about 3.5 MiB) on
/// whatever thread runs it: measured, RSS then stepped up by 3.5 MiB for good, once per thread that
/// happened to run a scrape. Fixing both thresholds at glibc's defaults (128 KiB) keeps large blocks in
/// mmap, unmapped when freed, and lets a heap's top shrink on free.
public enum HeapPolicy {
    /// The fixed mmap and trim threshold, bytes (glibc's own initial value).
    public static let threshold = 128 * 1024

    /// Applies the fixed thresholds to this process; call once, before the workers start. False when
    /// glibc refused a setting (the relay then runs with glibc's dynamic thresholds).
    @discardableResult
    public static func apply() -> Bool {
        CLiburing_fix_heap_thresholds(Int32(threshold)) == 0
    }
}

#if canImport(Glibc)
import Glibc
#endif

/// The system's real-time clock, in the whole seconds that cookies carry.
public enum WallClock {
    /// Seconds since 1970 (CLOCK_REALTIME).
    public static func secondsSince1970() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return UInt64(max(0, now.tv_sec))
    }
}

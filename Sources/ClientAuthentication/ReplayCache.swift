import Synchronization

/// Cookies accepted within the window, so that each is accepted only once: a fixed-size open-addressing
/// table of MAC fingerprints with their expiry, behind a mutex taken once per request (never per byte).
///
/// It holds at most `capacity` unexpired cookies; a cookie that finds no free place among its probes is
/// refused as ``AuthenticationFailure/replayCacheFull`` rather than forgetting a live one (which would
/// let it be replayed).
public final class ReplayCache: Sendable {
    /// One remembered cookie: the first 16 bytes of its MAC and when it may be forgotten.
    struct Entry {
        var high: UInt64 = 0
        var low: UInt64 = 0
        /// Seconds since 1970; 0 marks a free place.
        var expires: UInt64 = 0
    }

    /// How many places a cookie's fingerprint may take, from its hash on.
    static let probes = 16

    private let table: Mutex<[Entry]>
    /// The number of places (a power of two).
    public let capacity: Int

    /// A cache of `capacity` places, rounded up to a power of two (at least 64).
    public init(capacity: Int) {
        var size = 64
        while size < capacity { size <<= 1 }
        self.capacity = size
        table = Mutex(Array(repeating: Entry(), count: size))
    }

    /// What became of an insertion.
    public enum Outcome: Sendable, Equatable {
        /// First seen: remembered until its expiry.
        case fresh
        /// Seen before and not yet expired.
        case replayed
        /// No free place among the probes.
        case full
    }

    /// Remembers the cookie whose MAC is `mac` until `expires` (seconds since 1970), at time `now`.
    /// - Precondition: `mac` holds at least 16 bytes.
    public func insert(mac: [UInt8], expires: UInt64, now: UInt64) -> Outcome {
        var high: UInt64 = 0
        var low: UInt64 = 0
        for index in 0..<8 {
            high = high << 8 | UInt64(mac[index])
            low = low << 8 | UInt64(mac[8 + index])
        }
        let mask = capacity - 1
        // The MAC is uniformly random to anyone without the key, so its bits are a fine hash.
        let start = Int(truncatingIfNeeded: low) & mask
        return table.withLock { entries in
            var free: Int?
            for probe in 0..<Self.probes {
                let place = (start + probe) & mask
                let entry = entries[place]
                if entry.expires > now {
                    if entry.high == high && entry.low == low { return .replayed }
                } else if free == nil {
                    free = place
                }
            }
            guard let free else { return .full }
            entries[free] = Entry(high: high, low: low, expires: expires)
            return .fresh
        }
    }
}

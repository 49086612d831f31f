/// A rate limit of `rate` events per second, as deep as one second's worth: no allocation, no lock (one
/// worker owns it), integer arithmetic on the worker's monotonic clock.
struct TokenBucket {
    let rate: Int
    private var tokens: Int
    private var refilledAt: UInt64

    /// A full bucket of `rate` tokens at `now` (monotonic nanoseconds).
    init(rate: Int, now: UInt64) {
        self.rate = min(max(rate, 0), 1_000_000_000)
        tokens = self.rate
        refilledAt = now
    }

    /// Takes one token at `now`; false when none is left.
    mutating func take(now: UInt64) -> Bool {
        if tokens < rate {
            // At most one second counts, so the product stays far from overflow; what is too little for a
            // whole token waits for the next call (refilledAt stays put).
            let elapsed = min(now &- refilledAt, 1_000_000_000)
            let earned = Int(elapsed * UInt64(rate) / 1_000_000_000)
            if earned > 0 {
                tokens = min(rate, tokens + earned)
                // Only the time the earned tokens took: a fraction of the next one is kept, not dropped.
                refilledAt =
                    tokens == rate ? now : refilledAt &+ UInt64(earned) * 1_000_000_000 / UInt64(rate)
            }
        } else {
            refilledAt = now
        }
        guard tokens > 0 else { return false }
        tokens -= 1
        return true
    }
}

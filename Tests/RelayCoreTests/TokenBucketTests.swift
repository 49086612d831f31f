import Testing

@testable import RelayCore

@Suite("TokenBucket")
struct TokenBucketTests {
    static let second: UInt64 = 1_000_000_000

    @Test("a full bucket lets one second's worth through at once, then refills at the rate")
    func burstThenRate() {
        var bucket = TokenBucket(rate: 4, now: 10 * Self.second)
        let start = 10 * Self.second
        #expect((0..<6).map { _ in bucket.take(now: start) } == [true, true, true, true, false, false])
        // A quarter second earns one token; less earns none, and is not lost.
        #expect(bucket.take(now: start + Self.second / 8) == false)
        #expect(bucket.take(now: start + Self.second / 4) == true)
        #expect(bucket.take(now: start + Self.second / 4) == false)
        // A long pause fills it, never beyond its depth.
        #expect((0..<6).map { _ in bucket.take(now: start + 3600 * Self.second) }.filter { $0 }.count == 4)
    }

    @Test("the part of a token already earned is kept: the rate holds under steady use")
    func fractionsKept() {
        let start = 10 * Self.second
        var bucket = TokenBucket(rate: 4, now: start)
        for _ in 0..<4 { _ = bucket.take(now: start) }
        // 0.3 s earns one token and 0.05 s towards the next; 0.2 s later the next is whole.
        #expect(bucket.take(now: start + 3 * Self.second / 10) == true)
        #expect(bucket.take(now: start + 5 * Self.second / 10) == true)
        #expect(bucket.take(now: start + 5 * Self.second / 10) == false)
    }

    @Test("rate 0 lets nothing through")
    func zero() {
        var bucket = TokenBucket(rate: 0, now: 0)
        #expect(bucket.take(now: 0) == false)
        #expect(bucket.take(now: 100 * Self.second) == false)
    }
}

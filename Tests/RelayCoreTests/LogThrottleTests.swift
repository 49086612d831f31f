import Testing

@testable import RelayCore

@Suite("LogThrottle")
struct LogThrottleTests {
    @Test("the first occurrence logs; later ones wait for the interval and are counted into the next line")
    func oneLinePerInterval() {
        var throttle = LogThrottle(intervalNanoseconds: 10)
        #expect(throttle.admit(now: 100) == 1)
        #expect(throttle.admit(now: 101) == nil)
        #expect(throttle.admit(now: 109) == nil)
        #expect(throttle.admit(now: 110) == 3)
        #expect(throttle.admit(now: 111) == nil)
        #expect(throttle.admit(now: 500) == 2)
    }
}

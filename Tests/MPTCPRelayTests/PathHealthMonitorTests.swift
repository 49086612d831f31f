import PathManager
import RelayCore
import Testing

@testable import MPTCPRelay

@Suite("Passive health: a path's retransmissions and RTT make it degraded, good time makes it healthy")
struct PathHealthMonitorTests {
    let settings = PathHealthSettings(
        degradedLoss: 0.05,
        degradedRTTMilliseconds: 400,
        recoverAfterMilliseconds: 10_000
    )
    static let megabyte: UInt64 = 1_000_000

    /// One subflow's sums: `sent` and `retransmitted` bytes so far, RTT in milliseconds.
    func sample(_ sent: UInt64, _ retransmitted: UInt64, rtt: UInt64 = 20) -> PathHealthSample {
        PathHealthSample(sentBytes: sent, retransmittedBytes: retransmitted, rttMicroseconds: rtt * 1000, subflows: 1)
    }

    @Test("15 % of the bytes retransmitted: degraded at the first judged sample; 10 s without loss: healthy")
    func lossyPath() {
        var monitor = PathHealthMonitor(settings: settings, count: 2)
        let up: UInt64 = 0b11
        #expect(monitor.record([sample(0, 0), sample(0, 0)], up: up, now: 0).isEmpty)
        #expect(monitor.record([sample(Self.megabyte, 10_000), sample(Self.megabyte, 0)], up: up, now: 1000).isEmpty)
        let events = monitor.record(
            [sample(2 * Self.megabyte, 160_000), sample(2 * Self.megabyte, 0)],
            up: up,
            now: 2000
        )
        #expect(events.count == 1)
        if case .degraded(let path, let loss, _, _) = events.first {
            #expect(path == 0 && loss > 0.05)
        }
        #expect(monitor.paths[0].degraded && !monitor.paths[1].degraded)
        // Its subflows closed, it carries nothing: no figures, no verdict; it waits out the recovery time.
        #expect(
            monitor.record([sample(2 * Self.megabyte, 160_000), sample(3 * Self.megabyte, 0)], up: up, now: 3000)
                .isEmpty
        )
        #expect(
            monitor.record([sample(2 * Self.megabyte, 160_000), sample(4 * Self.megabyte, 0)], up: up, now: 11_999)
                .isEmpty
        )
        #expect(
            monitor.record([sample(2 * Self.megabyte, 160_000), sample(5 * Self.megabyte, 0)], up: up, now: 12_000) == [
                .recovered(path: 0)
            ]
        )
        #expect(!monitor.paths[0].degraded && monitor.paths[0].loss == nil)
    }

    @Test("a bad sample during the recovery time starts it again")
    func recoveryRestarts() {
        var monitor = PathHealthMonitor(settings: settings, count: 1)
        _ = monitor.record([sample(0, 0)], up: 1, now: 0)
        _ = monitor.record([sample(Self.megabyte, 200_000)], up: 1, now: 1000)
        #expect(monitor.paths[0].degraded)
        _ = monitor.record([sample(Self.megabyte, 200_000)], up: 1, now: 5000)
        _ = monitor.record([sample(2 * Self.megabyte, 400_000)], up: 1, now: 9000)
        #expect(
            monitor.record([sample(2 * Self.megabyte, 400_000)], up: 1, now: 15_000).isEmpty,
            "9 s after the bad one"
        )
        #expect(monitor.record([sample(2 * Self.megabyte, 400_000)], up: 1, now: 19_001) == [.recovered(path: 0)])
    }

    @Test("a slow path: smoothed RTT over the limit while it carries traffic")
    func slowPath() {
        var monitor = PathHealthMonitor(settings: settings, count: 1)
        _ = monitor.record([sample(0, 0, rtt: 900)], up: 1, now: 0)
        #expect(monitor.record([sample(1000, 0, rtt: 900)], up: 1, now: 1000).isEmpty, "too few bytes to judge")
        let events = monitor.record([sample(Self.megabyte, 0, rtt: 900)], up: 1, now: 2000)
        #expect(events == [.degraded(path: 0, loss: 0, rttMilliseconds: 900, retryMilliseconds: 10_000)])
    }

    @Test("totals that drop (a subflow closed) and paths that are down are not judged")
    func dropsAndDownPaths() {
        var monitor = PathHealthMonitor(settings: settings, count: 1)
        _ = monitor.record([sample(5 * Self.megabyte, 0)], up: 1, now: 0)
        #expect(monitor.record([sample(Self.megabyte, 900_000)], up: 1, now: 1000).isEmpty)
        #expect(!monitor.paths[0].degraded)
        _ = monitor.record([sample(2 * Self.megabyte, 1_200_000)], up: 1, now: 2000)
        #expect(monitor.paths[0].degraded)
        #expect(monitor.record([sample(2 * Self.megabyte, 1_200_000)], up: 0, now: 3000) == [.recovered(path: 0)])
        #expect(!monitor.paths[0].degraded, "down is down, not degraded")
    }

    @Test("a path that fails its trials waits twice as long each time, up to 16 ×; a trial that holds resets it")
    func failedTrialsBackOff() {
        var monitor = PathHealthMonitor(settings: settings, count: 1)
        var sent: UInt64 = 0
        var retransmitted: UInt64 = 0
        /// One second of traffic at `share` loss, sampled at `now`.
        func second(_ share: Double, at now: Int64) -> [PathHealthMonitor.Event] {
            sent += Self.megabyte
            retransmitted += UInt64(Double(Self.megabyte) * share)
            return monitor.record([sample(sent, retransmitted)], up: 1, now: now)
        }
        /// Nothing sent (a degraded path's subflows are closed), sampled at `now`.
        func idle(at now: Int64) -> [PathHealthMonitor.Event] {
            monitor.record([sample(sent, retransmitted)], up: 1, now: now)
        }
        _ = idle(at: 0)
        #expect(
            second(0.15, at: 1000) == [.degraded(path: 0, loss: 0.15, rttMilliseconds: 20, retryMilliseconds: 10_000)]
        )
        var now: Int64 = 1000
        // Still sick at every trial: 10, 20, 40, 80, 160 s, then 160 s again.
        for expected: Int64 in [10_000, 20_000, 40_000, 80_000, 160_000, 160_000] {
            #expect(idle(at: now + expected - 1).isEmpty, "no trial before \(expected) ms")
            #expect(idle(at: now + expected) == [.recovered(path: 0)], "a trial \(expected) ms after the last bad")
            now += expected + 1000
            let events = second(0.15, at: now)
            let next = min(expected * 2, 160_000)
            #expect(events.count == 1)
            if case .degraded(_, _, _, let retry) = events.first { #expect(retry == next) }
        }
        // Well again: the trial (160 s, as long as the wait before it) holds, and the next fault waits 10 s.
        now += 160_000
        #expect(idle(at: now) == [.recovered(path: 0)])
        for _ in 0..<161 {
            now += 1000
            #expect(second(0, at: now).isEmpty)
        }
        now += 1000
        let fault = second(0.5, at: now)
        if case .degraded(_, _, _, let retry) = fault.first {
            #expect(retry == 10_000)
        } else {
            Issue.record("no fault")
        }
    }

    @Test("probes: three unanswered in a row make a path unreachable, two answered reachable again")
    func probesReachability() {
        var monitor = PathHealthMonitor(settings: settings, count: 2)
        #expect(monitor.recordProbe(1, rttMilliseconds: nil, linkUp: true, now: 0).isEmpty)
        #expect(monitor.recordProbe(1, rttMilliseconds: nil, linkUp: true, now: 5000).isEmpty)
        #expect(monitor.recordProbe(1, rttMilliseconds: 20, linkUp: true, now: 10_000).isEmpty, "an answer resets")
        #expect(monitor.recordProbe(1, rttMilliseconds: nil, linkUp: true, now: 15_000).isEmpty)
        #expect(monitor.recordProbe(1, rttMilliseconds: nil, linkUp: true, now: 20_000).isEmpty)
        #expect(monitor.recordProbe(1, rttMilliseconds: nil, linkUp: true, now: 25_000) == [.unreachable(path: 1)])
        #expect(monitor.recordProbe(1, rttMilliseconds: nil, linkUp: true, now: 30_000).isEmpty, "said once")
        #expect(monitor.recordProbe(1, rttMilliseconds: 20, linkUp: true, now: 35_000).isEmpty)
        #expect(monitor.recordProbe(1, rttMilliseconds: 20, linkUp: true, now: 40_000) == [.reachable(path: 1)])
        #expect(!monitor.paths[1].degraded && !monitor.paths[0].degraded)
    }

    @Test("probes: a link that goes down ends an unreachable verdict (down says the rest) and the count")
    func probesLinkDown() {
        var monitor = PathHealthMonitor(settings: settings, count: 1)
        for now in [0, 1000, 2000] as [Int64] {
            _ = monitor.recordProbe(0, rttMilliseconds: nil, linkUp: true, now: now)
        }
        #expect(monitor.probes[0].unreachable)
        #expect(monitor.recordProbe(0, rttMilliseconds: nil, linkUp: false, now: 3000) == [.reachable(path: 0)])
        #expect(monitor.recordProbe(0, rttMilliseconds: nil, linkUp: true, now: 4000).isEmpty, "counting again")
    }

    @Test("probes: two answers in a row slower than degraded_rtt degrade an idle path; one is a lost SYN")
    func slowProbes() {
        var monitor = PathHealthMonitor(settings: settings, count: 1)
        #expect(monitor.recordProbe(0, rttMilliseconds: 1020, linkUp: true, now: 0).isEmpty)
        #expect(monitor.recordProbe(0, rttMilliseconds: 30, linkUp: true, now: 5000).isEmpty)
        #expect(monitor.recordProbe(0, rttMilliseconds: 900, linkUp: true, now: 10_000).isEmpty)
        #expect(
            monitor.recordProbe(0, rttMilliseconds: 950, linkUp: true, now: 15_000) == [
                .degraded(path: 0, loss: 0, rttMilliseconds: 950, retryMilliseconds: 10_000)
            ]
        )
        // Still slow: no trial while the probes say so (each slow answer is a bad sample).
        _ = monitor.recordProbe(0, rttMilliseconds: 950, linkUp: true, now: 20_000)
        #expect(monitor.record([sample(0, 0)], up: 1, now: 29_999).isEmpty)
        #expect(monitor.record([sample(0, 0)], up: 1, now: 30_000) == [.recovered(path: 0)])
    }
}

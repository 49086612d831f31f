import PathManager
import RelayCore

/// Classifies each path healthy or degraded from samples of its live subflows (passive: the relay's own
/// traffic, no probes): the share of sent bytes retransmitted since the last sample, smoothed over samples,
/// and the subflows' mean smoothed RTT. Only samples in which the path sent at least ``minimumBytes`` are
/// judged, so an idle path (or a degraded one, whose subflows are closed) is never condemned on old figures.
/// A degraded path carries nothing, so nothing can show it is well again: it gets a trial
/// ``PathHealthSettings/recoverAfterMilliseconds`` after its last bad sample (healthy again, its traffic
/// judged), and each trial it fails (degraded again within the trial) doubles the next wait, up to
/// ``maximumDoublings`` times; a trial that lasts as long as the wait before it ends the doubling. So a link
/// that stays sick costs a short trial at growing intervals instead of one every few seconds. Pure
/// bookkeeping: `PathHealthKeeper` publishes and logs.
struct PathHealthMonitor {
    /// What changed with a sample.
    enum Event: Equatable {
        /// Path `path` turned degraded, with what was measured; its next trial comes `retryMilliseconds` after
        /// its last bad sample.
        case degraded(path: Int, loss: Double, rttMilliseconds: Double, retryMilliseconds: Int64)
        /// Path `path` is healthy again.
        case recovered(path: Int)
        /// Path `path`'s probes went unanswered ``unreachableAfter`` times in a row: down until they are
        /// answered again.
        case unreachable(path: Int)
        /// Path `path`'s probes are answered again (or its link went down, which says the rest).
        case reachable(path: Int)
    }

    /// Per path: the probes' recent results (`[[path]] probe`).
    struct ProbeState: Equatable {
        var failures = 0
        var successes = 0
        var slow = 0
        var unreachable = false
    }

    /// Failed probes in a row that make a path unreachable.
    static let unreachableAfter = 3
    /// Answered probes in a row that make an unreachable path reachable again.
    static let reachableAfter = 2
    /// Probes in a row slower than `degraded_rtt` that count as a bad sample (one slow SYN is a lost one).
    static let slowAfter = 2

    /// Per path: what is remembered between samples.
    struct PathState: Equatable {
        var lastSent: UInt64 = 0
        var lastRetransmitted: UInt64 = 0
        /// The smoothed share of retransmitted bytes (nil before the first judged sample).
        var loss: Double?
        /// The mean smoothed RTT of the last judged sample, in milliseconds.
        var rttMilliseconds: Double = 0
        var degraded = false
        /// When (milliseconds) the last bad sample was taken.
        var lastBad: Int64 = 0
        /// How many trials in a row the path failed (degraded again before the trial ended).
        var failedTrials = 0
        /// When the running trial ends (nil: none running).
        var trialEnd: Int64?
    }

    /// The fewest bytes a path must have sent since the last sample for the sample to be judged.
    static let minimumBytes: UInt64 = 64 * 1024
    /// The weight of a new sample in the smoothed loss.
    static let smoothing = 0.5
    /// How many times failed trials double the wait before the next (16 × `recover_after` at most).
    static let maximumDoublings = 4

    let settings: PathHealthSettings
    private(set) var paths: [PathState]
    private(set) var probes: [ProbeState]

    /// A monitor for `count` paths, all healthy.
    init(settings: PathHealthSettings, count: Int) {
        self.settings = settings
        paths = Array(repeating: PathState(), count: count)
        probes = Array(repeating: ProbeState(), count: count)
    }

    /// Takes in one probe of path `index` at `now`: its connect time in milliseconds, or nil when it went
    /// unanswered. ``unreachableAfter`` failures in a row make the path unreachable (down for everyone),
    /// ``reachableAfter`` answers in a row reachable again; ``slowAfter`` answers in a row slower than
    /// `degraded_rtt` are a bad sample (degraded, and no trial while they last), so a path with no traffic of
    /// its own is judged too. `linkUp`: whether the path's link is up (a probe of a path that is down means
    /// nothing, and forgets the count).
    mutating func recordProbe(_ index: Int, rttMilliseconds: Double?, linkUp: Bool, now: Int64) -> [Event] {
        guard probes.indices.contains(index) else { return [] }
        var events: [Event] = []
        var probe = probes[index]
        defer { probes[index] = probe }
        guard linkUp else {
            if probe.unreachable { events.append(.reachable(path: index)) }
            probe = ProbeState()
            return events
        }
        guard let rtt = rttMilliseconds else {
            probe.failures += 1
            probe.successes = 0
            probe.slow = 0
            if !probe.unreachable && probe.failures >= Self.unreachableAfter {
                probe.unreachable = true
                events.append(.unreachable(path: index))
            }
            return events
        }
        probe.failures = 0
        probe.successes += 1
        if probe.unreachable && probe.successes >= Self.reachableAfter {
            probe.unreachable = false
            events.append(.reachable(path: index))
        }
        probe.slow = rtt > Double(settings.degradedRTTMilliseconds) ? probe.slow + 1 : 0
        if probe.slow >= Self.slowAfter,
            let event = Self.markBad(&paths[index], index, rttMilliseconds: rtt, now: now, settings)
        {
            events.append(event)
        }
        return events
    }

    /// Records a bad sample of path `index` at `now`: no trial before `recover_after` from now, and, when the
    /// path was healthy, the degraded event (a failed trial when one was running, which doubles the wait).
    private static func markBad(
        _ state: inout PathState,
        _ index: Int,
        rttMilliseconds: Double,
        now: Int64,
        _ settings: PathHealthSettings
    ) -> Event? {
        state.lastBad = now
        guard !state.degraded else { return nil }
        if let end = state.trialEnd, now < end {
            state.failedTrials = min(state.failedTrials + 1, Self.maximumDoublings)
        }
        state.trialEnd = nil
        state.degraded = true
        return .degraded(
            path: index,
            loss: state.loss ?? 0,
            rttMilliseconds: rttMilliseconds,
            retryMilliseconds: Self.wait(state, settings)
        )
    }

    /// Takes a sample (`samples[path]`, the live subflows' sums) at `now` (monotonic milliseconds); paths
    /// not up are not judged. Returns what changed.
    mutating func record(_ samples: [PathHealthSample], up: UInt64, now: Int64) -> [Event] {
        var events: [Event] = []
        for index in paths.indices {
            let sample = index < samples.count ? samples[index] : PathHealthSample()
            var state = paths[index]
            defer { paths[index] = state }
            // The engine's totals only grow (closed subflows keep their figures); should they ever drop, start
            // again from the new figures rather than judge a difference that means nothing.
            let sent = sample.sentBytes >= state.lastSent ? sample.sentBytes - state.lastSent : 0
            let retransmitted =
                sample.retransmittedBytes >= state.lastRetransmitted
                ? sample.retransmittedBytes - state.lastRetransmitted : 0
            let comparable = sample.sentBytes >= state.lastSent && sample.retransmittedBytes >= state.lastRetransmitted
            state.lastSent = sample.sentBytes
            state.lastRetransmitted = sample.retransmittedBytes
            let isUp = up & (1 << UInt64(index)) != 0
            var bad = false
            if isUp && sample.subflows > 0 {
                // The RTT figure follows the live subflows (for lowest-rtt), judged only with traffic below.
                state.rttMilliseconds = Double(sample.rttMicroseconds) / Double(sample.subflows) / 1000
            }
            if isUp && comparable && sent >= Self.minimumBytes && sample.subflows > 0 {
                let share = min(1, Double(retransmitted) / Double(sent))
                let loss = state.loss.map { $0 * (1 - Self.smoothing) + share * Self.smoothing } ?? share
                state.loss = loss
                bad =
                    loss > settings.degradedLoss
                    || state.rttMilliseconds > Double(settings.degradedRTTMilliseconds)
            }
            if !isUp {
                // A path that is down is down, not degraded; it comes back healthy.
                if state.degraded { events.append(.recovered(path: index)) }
                state = PathState(lastSent: sample.sentBytes, lastRetransmitted: sample.retransmittedBytes)
                continue
            }
            if bad {
                if let event = Self.markBad(&state, index, rttMilliseconds: state.rttMilliseconds, now: now, settings) {
                    events.append(event)
                }
            } else if state.degraded && now - state.lastBad >= wait(state) {
                state.degraded = false
                state.loss = nil
                state.trialEnd = now + wait(state)
                events.append(.recovered(path: index))
            } else if let end = state.trialEnd, now >= end {
                // The trial held: the path is trusted again, and a later fault starts from the base wait.
                state.trialEnd = nil
                state.failedTrials = 0
            }
        }
        return events
    }

    /// How long a degraded path waits after its last bad sample before its trial: `recover_after`, doubled
    /// for each trial it failed in a row.
    func wait(_ state: PathState) -> Int64 {
        Self.wait(state, settings)
    }

    private static func wait(_ state: PathState, _ settings: PathHealthSettings) -> Int64 {
        settings.recoverAfterMilliseconds << Int64(state.failedTrials)
    }
}

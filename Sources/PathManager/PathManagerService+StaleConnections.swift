import Logging
import Netlink

/// Connections the kernel forgot without telling: it sends no MPTCP_EVENT_CLOSED for a connection the peer
/// reset with MP_FASTCLOSE (the token is dropped on receipt, and closing the socket later emits nothing;
/// Linux 6.18, docs/PATH-MANAGER.md "Connections that end without a CLOSED event"). Without this the table
/// kept such entries for good, and every path change re-planned them into "invalid token" refusals.
///
/// Found three ways, each confirmed by the kernel before anything is dropped: a command on the connection
/// answered "invalid token"; the relay closed its own socket (the worker unregistered the key) but no CLOSED
/// came; a new connection took over the key. Connections the peer opened (no key of ours) are probed every
/// ``peerProbeIntervalMilliseconds`` (at the next sweep after events were lost). A connection is also probed
/// before the path manager asks its worker to close it, so that a stale entry never closes its key's new
/// owner.
extension PathManagerService {
    /// How long a connection the peer opened goes unprobed.
    static let peerProbeIntervalMilliseconds: Int64 = 30_000
    /// The most probes one sweep sends (the rest wait for the next sweep, a second later).
    static let probesPerSweep = 256

    /// Drops every trace of connection `token`.
    func forget(_ token: UInt32) {
        if let connection = connections.removeValue(forKey: token), tokenByKey[connection.key] == token {
            tokenByKey[connection.key] = nil
        }
        peerOpened[token] = nil
        peerConfirmedAt[token] = nil
        holdOff[token] = nil
        laneHoldOff[token] = nil
        closing.remove(token)
        joinsWaiting.removeAll { $0.token == token }
    }

    /// Remembers a connection the kernel answered "invalid token" for; ``forgetVanished()`` drops it at the
    /// end of the loop turn (not at once: the command's caller may still write its entry back).
    func noteRefusal(of token: UInt32, _ error: NetlinkError) {
        if error.isUnknownToken { vanished.insert(token) }
    }

    /// Drops the connections found unknown to the kernel during this loop turn, and counts them.
    func forgetVanished() {
        guard !vanished.isEmpty else { return }
        for token in vanished where connections[token] != nil || peerConfirmedAt[token] != nil {
            board.countStaleConnection()
            logger.debug("forgetting a connection the kernel no longer knows", metadata: ["token": "\(token)"])
            forget(token)
        }
        vanished.removeAll(keepingCapacity: true)
    }

    /// Probes the connections that may be gone: ours whose socket the relay closed, and the peer's not
    /// probed for a while.
    func sweepStaleConnections(now: Int64) {
        var budget = Self.probesPerSweep
        for (token, connection) in connections where budget > 0 && board.policy(of: connection.key) == nil {
            // Its CLOSED event is normally read in the same loop turn as the close; this one's never came.
            budget -= 1
            probe(token)
        }
        for (token, confirmed) in peerConfirmedAt
        where budget > 0 && now - confirmed >= Self.peerProbeIntervalMilliseconds {
            budget -= 1
            peerConfirmedAt[token] = now
            probe(token)
        }
    }

    /// Asks the kernel whether it still knows connection `token` (``MPTCPPathManagerRequest/tokenProbe``);
    /// an "invalid token" answer marks it vanished, any other answer means it is alive.
    func probe(_ token: UInt32) {
        do {
            try sendPathManagerRequest("mptcp_pm SUBFLOW_DESTROY (token probe)") { family, sequence in
                MPTCPPathManagerRequest.tokenProbe(familyID: family, sequence: sequence, token: token)
            }
        } catch {
            noteRefusal(of: token, error)
        }
    }
}

import ConvertProtocol
import Logging
import Netlink

#if canImport(Glibc)
import Glibc
#endif

/// Links, addresses and routes: what decides whether a path is up.
extension PathManagerService {
    /// Rebuilds the link table from dumps (at start, and after the kernel dropped events).
    func resynchronizeLinks() throws(NetlinkError) {
        guard let requests = routeRequests else { return }
        var table = LinkTable()
        for (request, operation) in [
            (RouteNetlinkRequest.dumpLinks(sequence: requests.nextSequence()), "rtnetlink GETLINK dump"),
            (RouteNetlinkRequest.dumpAddresses(sequence: requests.nextSequence()), "rtnetlink GETADDR dump"),
            (RouteNetlinkRequest.dumpRoutes(sequence: requests.nextSequence()), "rtnetlink GETROUTE dump"),
        ] {
            for message in try requests.request(request, operation: operation) {
                if let event = try? RouteNetlinkEvent.decode(message) {
                    table.apply(event)
                }
            }
        }
        links = table
    }

    /// Applies the queued rtnetlink events, then re-evaluates the paths.
    func readRouteEvents() {
        guard let events = routeEvents else { return }
        var changed = false
        do {
            for message in try events.receive(timeoutMilliseconds: 0) {
                if let event = try? RouteNetlinkEvent.decode(message) {
                    links.apply(event)
                    changed = true
                }
            }
        } catch {
            logger.warning("rtnetlink events were lost; reading the links again", metadata: ["error": "\(error)"])
            do {
                try resynchronizeLinks()
            } catch {
                logger.error("could not read the links", metadata: ["error": "\(error)"])
            }
            changed = true
        }
        if changed { refreshPaths(initial: false) }
    }

    /// Recomputes every path's status, publishes it on the board, logs each transition once, and
    /// re-plans every connection when a path changed.
    func refreshPaths(initial: Bool) {
        var transitions = false
        for index in plan.paths.indices {
            let path = plan.paths[index]
            let status = links.status(of: path)
            let old = statuses[index]
            board.setSource(of: index, ipv6: false, to: status.v4)
            board.setSource(of: index, ipv6: true, to: status.v6)
            board.setUp(index, status.up)
            statuses[index] = status
            if initial || old.up != status.up {
                transitions = true
                if !initial { board.countTransition(of: index, up: status.up) }
                var metadata: Logger.Metadata = [
                    "path": "\(path.name)",
                    "class": "\(path.pathClass.rawValue)",
                ]
                if let v4 = status.v4 { metadata["source"] = "\(v4)" }
                if let v6 = status.v6 { metadata["source6"] = "\(v6)" }
                if status.up {
                    logger.info(initial ? "path is up" : "path came up", metadata: metadata)
                } else {
                    metadata["reason"] = "\(status.reason)"
                    if initial {
                        logger.warning("path is down", metadata: metadata)
                    } else {
                        logger.warning("path went down", metadata: metadata)
                    }
                }
            } else if old.v4 != status.v4 || old.v6 != status.v6 {
                transitions = true
            }
        }
        guard transitions else { return }
        if plan.mode == .kernel { synchronizeEndpoints() }
        replanAll()
    }
}

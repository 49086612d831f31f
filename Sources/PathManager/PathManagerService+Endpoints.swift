import ConvertProtocol
import Logging
import Netlink

#if canImport(Glibc)
import Glibc
#endif

/// `kernel` mode: one in-kernel MPTCP endpoint per up path and family, like `ip mptcp endpoint add`.
extension PathManagerService {
    /// The endpoint ids this service uses: high, so that they do not collide with hand-made ones.
    static func endpointID(_ key: EndpointKey) -> UInt8 {
        UInt8(200 + key.path * 2 + (key.ipv6 ? 1 : 0))
    }

    /// Adds endpoints for up paths and removes those of down paths (the kernel then closes their subflows).
    func synchronizeEndpoints() {
        // A path over its quota keeps no endpoint while another path is up.
        let usable = PathBoard.usable(
            up: board.upPaths,
            exhausted: board.exhaustedPaths,
            allowed: (1 << UInt64(plan.paths.count)) - 1
        )
        for index in plan.paths.indices {
            let status = statuses[index]
            for (ipv6, address) in [(false, status.v4), (true, status.v6)] {
                let key = EndpointKey(path: index, ipv6: ipv6)
                let wanted = status.up && usable & (1 << UInt64(index)) != 0 ? address : nil
                if endpoints[key] != nil && wanted == nil {
                    deleteEndpoint(key)
                }
                guard let wanted, endpoints[key] == nil else { continue }
                var flags: MPTCPEndpointFlags = [.subflow]
                if plan.paths[index].pathClass == .backup { flags.insert(.backup) }
                let id = Self.endpointID(key)
                let endpoint = MPTCPAddress(
                    address: wanted,
                    id: id,
                    flags: flags,
                    interfaceIndex: status.interfaceIndex
                )
                do {
                    _ = try sendPathManagerRequest("mptcp_pm ADD_ADDR") { family, sequence in
                        MPTCPPathManagerRequest.addEndpoint(familyID: family, sequence: sequence, address: endpoint)
                    }
                    endpoints[key] = id
                    logger.info(
                        "added an MPTCP endpoint",
                        metadata: ["path": "\(plan.paths[index].name)", "address": "\(wanted)", "id": "\(id)"]
                    )
                } catch {
                    logger.error(
                        "could not add an MPTCP endpoint",
                        metadata: ["path": "\(plan.paths[index].name)", "address": "\(wanted)", "error": "\(error)"]
                    )
                }
            }
        }
        raiseSubflowLimit()
    }

    /// Relay mode: the namespace's `subflows` limit becomes the cap on joins a peer adds to a connection it
    /// opened (the kernel no longer applies it once the path manager is userspace).
    func readPeerJoinLimit() {
        guard pmFamily != nil else { return }
        do {
            if let limits = try currentLimits() { peerJoinLimit = Int(limits.subflows) }
        } catch {
            logger.warning(
                "could not read the MPTCP subflow limit; peers may add \(peerJoinLimit) joins to connections they open",
                metadata: ["error": "\(error)"]
            )
        }
        logger.info(
            "joins a peer adds to a connection it opened: at most the namespace's subflow limit",
            metadata: ["subflows": "\(peerJoinLimit)"]
        )
    }

    /// The namespace's MPTCP limits (`mptcp_pm GET_LIMITS`); nil when the reply cannot be read.
    private func currentLimits() throws(NetlinkError) -> MPTCPLimits? {
        guard let family = pmFamily else { return nil }
        let replies = try sendPathManagerRequest("mptcp_pm GET_LIMITS") { family, sequence in
            MPTCPPathManagerRequest.getLimits(familyID: family, sequence: sequence)
        }
        return try? MPTCPPathManagerReply.limits(replies, familyID: family.id)
    }

    /// Makes sure the in-kernel path manager may open a subflow per configured path.
    private func raiseSubflowLimit() {
        guard pmFamily != nil else { return }
        do {
            guard let limits = try currentLimits() else { return }
            let needed = UInt32(plan.paths.count)
            guard limits.subflows < needed else { return }
            _ = try sendPathManagerRequest("mptcp_pm SET_LIMITS") { family, sequence in
                MPTCPPathManagerRequest.setLimits(
                    familyID: family,
                    sequence: sequence,
                    subflows: needed,
                    acceptedAddresses: limits.acceptedAddresses
                )
            }
            logger.info("raised the MPTCP subflow limit", metadata: ["subflows": "\(needed)"])
        } catch {
            logger.warning("could not check the MPTCP subflow limit", metadata: ["error": "\(error)"])
        }
    }

    /// Deletes one endpoint this service added.
    private func deleteEndpoint(_ key: EndpointKey) {
        guard let id = endpoints[key] else { return }
        do {
            _ = try sendPathManagerRequest("mptcp_pm DEL_ADDR") { family, sequence in
                MPTCPPathManagerRequest.deleteEndpoint(familyID: family, sequence: sequence, id: id)
            }
        } catch {
            logger.warning("could not remove an MPTCP endpoint", metadata: ["id": "\(id)", "error": "\(error)"])
        }
        endpoints[key] = nil
    }

    /// Deletes every endpoint this service added (at stop).
    func removeEndpoints() {
        for key in Array(endpoints.keys) { deleteEndpoint(key) }
    }
}

import ConvertProtocol
import Logging
import Netlink

/// `[runtime] announce`: this host's extra addresses, told to MPTCP peers with ADD_ADDR by the in-kernel
/// path manager through `signal` endpoints that the relay adds at start and removes at stop.
extension PathManagerService {
    /// The endpoint id of the announcement at `index` (above the ids of path endpoints).
    static func announcementID(_ index: Int) -> UInt8 {
        UInt8(230 + index)
    }

    /// Adds one `signal` endpoint per configured address.
    func announceAddresses() {
        for (index, address) in plan.announcements.enumerated() {
            let id = Self.announcementID(index)
            do {
                _ = try sendPathManagerRequest("mptcp_pm ADD_ADDR") { family, sequence in
                    MPTCPPathManagerRequest.addEndpoint(
                        familyID: family,
                        sequence: sequence,
                        address: MPTCPAddress(address: address, id: id, flags: [.signal])
                    )
                }
                announced.append(id)
                logger.info("announcing an address to MPTCP peers", metadata: ["address": "\(address)", "id": "\(id)"])
            } catch {
                logger.error(
                    "could not add a signal endpoint: the address is not announced",
                    metadata: ["address": "\(address)", "error": "\(error)"]
                )
            }
        }
    }

    /// Removes the `signal` endpoints added by ``announceAddresses()``.
    func withdrawAnnouncements() {
        for id in announced {
            _ = try? sendPathManagerRequest("mptcp_pm DEL_ADDR") { family, sequence in
                MPTCPPathManagerRequest.deleteEndpoint(familyID: family, sequence: sequence, id: id)
            }
        }
        announced = []
    }
}

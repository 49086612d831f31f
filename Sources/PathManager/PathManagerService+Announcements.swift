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
        guard let requests = pmRequests, let family = pmFamily else { return }
        for (index, address) in plan.announcements.enumerated() {
            let id = Self.announcementID(index)
            do {
                _ = try requests.request(
                    MPTCPPathManagerRequest.addEndpoint(
                        familyID: family.id,
                        sequence: requests.nextSequence(),
                        address: MPTCPAddress(address: address, id: id, flags: [.signal])
                    ),
                    operation: "mptcp_pm ADD_ADDR"
                )
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
        guard let requests = pmRequests, let family = pmFamily else { return }
        for id in announced {
            _ = try? requests.request(
                MPTCPPathManagerRequest.deleteEndpoint(familyID: family.id, sequence: requests.nextSequence(), id: id),
                operation: "mptcp_pm DEL_ADDR"
            )
        }
        announced = []
    }
}

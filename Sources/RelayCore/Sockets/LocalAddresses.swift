internal import CLiburing
import ConvertProtocol

#if canImport(Glibc)
import Glibc
#endif

/// The host's own interface addresses (getifaddrs), which a converter must never be asked to reach.
enum LocalAddresses {
    static func current() -> [IPAddress] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var result: [IPAddress] = []
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            if let raw = entry.pointee.ifa_addr {
                var address = SocketAddress()
                let family = Int32(raw.pointee.sa_family)
                let size = family == AF_INET ? MemoryLayout<sockaddr_in>.size : MemoryLayout<sockaddr_in6>.size
                if family == AF_INET || family == AF_INET6 {
                    withUnsafeMutableBytes(of: &address.storage) { target in
                        target.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: size))
                    }
                    address.length = socklen_t(size)
                    if let endpoint = address.endpoint { result.append(endpoint.address) }
                }
            }
            cursor = entry.pointee.ifa_next
        }
        return result
    }
}

internal import CLiburing
internal import Glibc

/// A blocking netlink socket: requests with their replies, or multicast notifications.
///
/// Use one socket per purpose: a request socket never joins groups (so replies are not interleaved with
/// notifications), an event socket only receives. The socket lives in the network namespace of the thread
/// that created it.
///
/// Not `Sendable`: the sequence counter and the receive buffer are unsynchronized, and a request's replies
/// must be read by the thread that sent it. One thread owns each socket (the path manager thread); move it
/// to that thread before first use and never share it.
public final class NetlinkSocket {
    /// The socket descriptor, for `poll` alongside other descriptors.
    public let fileDescriptor: Int32
    /// The port id the kernel assigned at bind (`nl_pid`); replies carry it in `nlmsg_pid`.
    public let portID: UInt32
    /// The protocol the socket speaks.
    public let netlinkProtocol: NetlinkProtocol
    private var sequence: UInt32
    private var buffer: [UInt8]

    /// The largest datagram read in one `recv`; the kernel's dump chunks stay below 32 KiB.
    static let datagramBufferSize = 1 << 16
    /// How many queued datagrams one ``receive(timeoutMilliseconds:)`` drains at most.
    static let maximumDatagramsPerReceive = 64

    /// Opens, configures and binds a netlink socket of `netlinkProtocol`.
    ///
    /// Sets `SOCK_CLOEXEC`, the receive buffer (`SO_RCVBUFFORCE` when allowed, else `SO_RCVBUF`) so bursts
    /// of notifications do not overrun, `NETLINK_EXT_ACK` (the kernel explains errors) and `NETLINK_CAP_ACK`
    /// (acks do not echo the whole request).
    public init(_ netlinkProtocol: NetlinkProtocol, receiveBufferSize: Int = 1 << 20) throws(NetlinkError) {
        let descriptor = socket(
            AF_NETLINK,
            Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue),
            netlinkProtocol.rawValue
        )
        guard descriptor >= 0 else { throw NetlinkError(operation: "socket(AF_NETLINK)", errno: Glibc.errno) }
        var ownsDescriptor = true
        defer { if ownsDescriptor { close(descriptor) } }

        var size = Int32(clamping: receiveBufferSize)
        if Self.setOption(descriptor, SOL_SOCKET, SO_RCVBUFFORCE, &size) != 0 {
            guard Self.setOption(descriptor, SOL_SOCKET, SO_RCVBUF, &size) == 0 else {
                throw NetlinkError(operation: "setsockopt(SO_RCVBUF)", errno: Glibc.errno)
            }
        }
        var enable: Int32 = 1
        guard Self.setOption(descriptor, SOL_NETLINK, NETLINK_EXT_ACK, &enable) == 0 else {
            throw NetlinkError(operation: "setsockopt(NETLINK_EXT_ACK)", errno: Glibc.errno)
        }
        // Optional: without it acks echo the whole request, which the reply parser handles too.
        _ = Self.setOption(descriptor, SOL_NETLINK, NETLINK_CAP_ACK, &enable)

        var address = sockaddr_nl()
        address.nl_family = sa_family_t(AF_NETLINK)
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_nl>.size))
            }
        }
        guard bound == 0 else { throw NetlinkError(operation: "bind(AF_NETLINK)", errno: Glibc.errno) }
        var length = socklen_t(MemoryLayout<sockaddr_nl>.size)
        let named = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0 else { throw NetlinkError(operation: "getsockname(AF_NETLINK)", errno: Glibc.errno) }

        ownsDescriptor = false
        fileDescriptor = descriptor
        portID = address.nl_pid
        self.netlinkProtocol = netlinkProtocol
        sequence = 0
        buffer = [UInt8](repeating: 0, count: Self.datagramBufferSize)
    }

    deinit { close(fileDescriptor) }

    /// Subscribes to a multicast group (`NETLINK_ADD_MEMBERSHIP`): an ``RouteNetlinkGroup`` value or a
    /// generic netlink family's group id from ``GenericNetlinkFamily/multicastGroups``.
    public func joinGroup(_ group: UInt32) throws(NetlinkError) {
        var group = group
        guard Self.setOption(fileDescriptor, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group) == 0 else {
            throw NetlinkError(operation: "setsockopt(NETLINK_ADD_MEMBERSHIP \(group))", errno: Glibc.errno)
        }
    }

    /// Unsubscribes from a multicast group (`NETLINK_DROP_MEMBERSHIP`).
    public func leaveGroup(_ group: UInt32) throws(NetlinkError) {
        var group = group
        guard Self.setOption(fileDescriptor, SOL_NETLINK, NETLINK_DROP_MEMBERSHIP, &group) == 0 else {
            throw NetlinkError(operation: "setsockopt(NETLINK_DROP_MEMBERSHIP \(group))", errno: Glibc.errno)
        }
    }

    /// The next request sequence number (starting at 1, never 0 since multicast messages carry 0).
    public func nextSequence() -> UInt32 {
        sequence = sequence == UInt32.max ? 1 : sequence + 1
        return sequence
    }

    /// Sends a request and returns its replies, without the final ack or `NLMSG_DONE`.
    ///
    /// Reads until the `NLMSG_ERROR` ack (error 0) or `NLMSG_DONE` of this request's sequence number,
    /// skipping anything else. A negative error in either throws ``NetlinkError`` with `operation`, the
    /// errno and the kernel's extended ack text; a dump the kernel marks `NLM_F_DUMP_INTR` throws `EAGAIN`
    /// (repeat it); no answer within `timeoutMilliseconds` throws `ETIMEDOUT`.
    public func request(
        _ message: [UInt8],
        operation: String,
        timeoutMilliseconds: Int32 = 5000
    ) throws(NetlinkError) -> [NetlinkMessage] {
        guard message.count >= NetlinkDecoder.messageHeaderLength else {
            throw NetlinkError(operation: operation, errno: EINVAL, message: "request shorter than a header")
        }
        let sequence = message.loadHostOrder(UInt32.self, at: 8)
        try send(message, operation: operation)
        let deadline = Self.monotonicMilliseconds() + Int64(timeoutMilliseconds)
        var replies: [NetlinkMessage] = []
        while true {
            let remaining = deadline - Self.monotonicMilliseconds()
            guard remaining > 0, try waitReadable(timeoutMilliseconds: Int32(clamping: remaining), operation: operation)
            else {
                throw NetlinkError(operation: operation, errno: ETIMEDOUT, message: "no reply")
            }
            guard let messages = try receiveDatagram(operation: operation) else { continue }
            for reply in messages where reply.sequence == sequence && reply.portID == portID {
                switch reply.type {
                case NetlinkMessageType.error:
                    let code = try Self.errorCode(reply, operation: operation)
                    guard code == 0 else {
                        throw NetlinkError(operation: operation, errno: -code, message: Self.extendedAckMessage(reply))
                    }
                    return replies
                case NetlinkMessageType.done:
                    if reply.payload.count >= 4 {
                        let code = Int32(bitPattern: reply.payload.loadHostOrder(UInt32.self, at: 0))
                        if code < 0 {
                            throw NetlinkError(
                                operation: operation,
                                errno: -code,
                                message: Self.extendedAckMessage(reply)
                            )
                        }
                    }
                    return replies
                case NetlinkMessageType.noop, NetlinkMessageType.overrun:
                    continue
                default:
                    if reply.flags & NetlinkFlags.dumpInterrupted != 0 {
                        throw NetlinkError(operation: operation, errno: EAGAIN, message: "dump interrupted, repeat it")
                    }
                    replies.append(reply)
                }
            }
        }
    }

    /// Waits up to `timeoutMilliseconds` (-1: forever) for notifications and returns every message queued
    /// then; `[]` on timeout.
    ///
    /// Throws ``NetlinkError`` with errno `ENOBUFS` when the kernel dropped notifications because the
    /// receive buffer was full: the caller's view is stale and must be rebuilt with dumps. The socket stays
    /// usable.
    public func receive(timeoutMilliseconds: Int32) throws(NetlinkError) -> [NetlinkMessage] {
        guard try waitReadable(timeoutMilliseconds: timeoutMilliseconds, operation: "poll") else { return [] }
        var messages: [NetlinkMessage] = []
        for _ in 0..<Self.maximumDatagramsPerReceive {
            guard let datagram = try receiveDatagram(operation: "recv") else { break }
            messages += datagram
        }
        return messages
    }

    /// Looks up a generic netlink family (`CTRL_CMD_GETFAMILY`); `ENOENT` when the kernel has no such family.
    public func resolveFamily(_ name: String) throws(NetlinkError) -> GenericNetlinkFamily {
        let operation = "nlctrl GETFAMILY \(name)"
        let replies = try request(
            GenericNetlinkControl.getFamilyRequest(name: name, sequence: nextSequence()),
            operation: operation
        )
        guard let reply = replies.first(where: { $0.type == GenericNetlinkControl.familyID }) else {
            throw NetlinkError(operation: operation, errno: EBADMSG, message: "no NEWFAMILY reply")
        }
        do throws(NetlinkDecodingError) {
            return try GenericNetlinkControl.family(from: reply)
        } catch {
            throw NetlinkError(operation: operation, errno: EBADMSG, message: error.description)
        }
    }

    // MARK: - Syscalls

    private func send(_ message: [UInt8], operation: String) throws(NetlinkError) {
        while true {
            let sent = message.withUnsafeBytes { Glibc.send(fileDescriptor, $0.baseAddress, $0.count, 0) }
            if sent == message.count { return }
            let code = sent < 0 ? Glibc.errno : EMSGSIZE
            if code == EINTR { continue }
            throw NetlinkError(operation: "\(operation) (send)", errno: code)
        }
    }

    /// Polls for input; false on timeout. Retries `EINTR` with the full timeout (bounded by the caller's
    /// deadline in ``request(_:operation:timeoutMilliseconds:)``).
    private func waitReadable(timeoutMilliseconds: Int32, operation: String) throws(NetlinkError) -> Bool {
        var descriptor = pollfd(fd: fileDescriptor, events: Int16(POLLIN), revents: 0)
        while true {
            let ready = poll(&descriptor, 1, timeoutMilliseconds)
            if ready > 0 { return true }
            if ready == 0 { return false }
            if Glibc.errno == EINTR { continue }
            throw NetlinkError(operation: "\(operation) (poll)", errno: Glibc.errno)
        }
    }

    /// Reads one datagram without blocking and splits it into messages; nil when nothing is queued.
    private func receiveDatagram(operation: String) throws(NetlinkError) -> [NetlinkMessage]? {
        while true {
            let received = buffer.withUnsafeMutableBytes { raw in
                recv(fileDescriptor, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT | MSG_TRUNC))
            }
            if received < 0 {
                let code = Glibc.errno
                if code == EINTR { continue }
                if code == EAGAIN || code == EWOULDBLOCK { return nil }
                throw NetlinkError(operation: "\(operation) (recv)", errno: code)
            }
            guard received <= buffer.count else {
                throw NetlinkError(
                    operation: "\(operation) (recv)",
                    errno: EMSGSIZE,
                    message: "\(received) byte datagram"
                )
            }
            do throws(NetlinkDecodingError) {
                return try NetlinkDecoder.messages(buffer[0..<received])
            } catch {
                throw NetlinkError(operation: "\(operation) (decode)", errno: EBADMSG, message: error.description)
            }
        }
    }

    private static func setOption<T: FixedWidthInteger>(
        _ descriptor: Int32,
        _ level: Int32,
        _ name: Int32,
        _ value: inout T
    ) -> Int32 {
        withUnsafeBytes(of: &value) { setsockopt(descriptor, level, name, $0.baseAddress, socklen_t($0.count)) }
    }

    private static func monotonicMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    // MARK: - Error replies

    /// The (non-positive) error code of an `NLMSG_ERROR` message.
    private static func errorCode(_ message: NetlinkMessage, operation: String) throws(NetlinkError) -> Int32 {
        guard message.payload.count >= 4 else {
            throw NetlinkError(operation: operation, errno: EBADMSG, message: "NLMSG_ERROR without an error code")
        }
        return Int32(bitPattern: message.payload.loadHostOrder(UInt32.self, at: 0))
    }

    /// The `NLMSGERR_ATTR_MSG` text of an error or done message, if the kernel attached one.
    static func extendedAckMessage(_ message: NetlinkMessage) -> String? {
        guard message.flags & NetlinkFlags.acknowledgementAttributes != 0 else { return nil }
        var offset = 4
        if message.type == NetlinkMessageType.error {
            // struct nlmsgerr: error, then the request's header, then (unless capped) its payload.
            guard message.payload.count >= 4 + NetlinkDecoder.messageHeaderLength else { return nil }
            let requestLength = Int(message.payload.loadHostOrder(UInt32.self, at: 4))
            offset +=
                message.flags & NetlinkFlags.capped != 0
                ? NetlinkDecoder.messageHeaderLength : NetlinkDecoder.align(requestLength)
        }
        guard offset <= message.payload.count,
            let attributes = try? NetlinkDecoder.attributes(message.payload[offset...])
        else { return nil }
        return attributes.first(1)?.string
    }
}

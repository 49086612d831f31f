import ConvertProtocol
import PathManager
import Synchronization

/// Where a connection is in its life.
enum ConnectionPhase: UInt8 {
    case free
    /// Accepted; its role's first step has not been queued yet.
    case starting
    /// Converter side: reading the client's Convert request.
    case awaitingRequest
    /// Dialing the upstream (forward: the converter; convert: the destination or backend).
    case connecting
    /// Forward side with Fast Open: the connection is not established yet (no cookie, so no data in the
    /// SYN); the request goes out when the socket becomes writable.
    case sendingRequest
    /// Forward side: request sent, bytes flow towards the converter, its answer is awaited.
    case awaitingResponse
    /// Both directions flow.
    case relaying
    /// Outstanding ring operations are being cancelled; the slot is released when none is left.
    case closing
}

/// One direction of a relayed connection: bytes spliced from a source socket through a pipe to a sink.
struct RelayDirection {
    /// The pipe holding bytes in flight; `.none` while idle.
    var pipe = Pipe.none
    /// Bytes in the pipe not yet written to the sink.
    var buffered = 0
    /// The source reached EOF.
    var sourceEnded = false
    /// EOF was passed on (shutdown(SHUT_WR) on the sink): this direction is done.
    var finished = false
    /// Bytes delivered to the sink.
    var bytes: UInt64 = 0
    /// With the `auto` data path: this direction is moving bulk and splices; otherwise it copies.
    var splicing = false
    /// The listener's byte counter for this direction in the worker's statistics block.
    var byteCounter: UnsafeMutablePointer<Atomic<UInt64>>?

    /// Counts `count` delivered bytes, on the connection and on the listener's counter.
    mutating func delivered(_ count: Int) {
        bytes &+= UInt64(count)
        byteCounter?.pointee.wrappingAdd(UInt64(count), ordering: .relaxed)
    }
}

/// The two directions, by name.
enum DirectionID {
    /// Accepting side to dialing side (client → server).
    case toUpstream
    /// Dialing side to accepting side (server → client).
    case toDownstream
}

/// Bits of `ConnectionSlot.armed`: which ring operations are in flight.
struct ArmedOperations: OptionSet {
    let rawValue: UInt8
    static let downstreamIn = ArmedOperations(rawValue: 1 << 0)
    static let downstreamOut = ArmedOperations(rawValue: 1 << 1)
    static let upstreamIn = ArmedOperations(rawValue: 1 << 2)
    static let upstreamOut = ArmedOperations(rawValue: 1 << 3)
    static let connect = ArmedOperations(rawValue: 1 << 4)

    init(rawValue: UInt8) { self.rawValue = rawValue }

    init(_ kind: OperationKind) {
        switch kind {
        case .pollDownstreamIn: self = .downstreamIn
        case .pollDownstreamOut: self = .downstreamOut
        case .pollUpstreamIn: self = .upstreamIn
        case .pollUpstreamOut: self = .upstreamOut
        case .connect: self = .connect
        default: self = []
        }
    }
}

/// A connection's whole state, stored in a worker's fixed table and addressed by index: no allocation
/// per connection on the data path.
struct ConnectionSlot {
    var generation: UInt32 = 0
    var phase = ConnectionPhase.free
    var listener = 0
    /// The accepted socket.
    var downstream: Int32 = -1
    /// The dialed socket.
    var upstream: Int32 = -1
    var armed = ArmedOperations()
    var toUpstream = RelayDirection()
    var toDownstream = RelayDirection()
    /// Convert header bytes read so far, and the expected total (0 until the fixed header is in).
    var headerFilled = 0
    var headerExpected = 0
    var startedAt: UInt64 = 0
    /// When the outbound connect was queued (precise clock), for the connect duration histogram.
    var dialedAt: UInt64 = 0
    var lastActivity: UInt64 = 0
    var result = ConnectionResult.completed
    var abortive = false
    var peer: Endpoint?
    var destination: Endpoint?
    /// The connection's entry on the path board (forward and transparent, with a managed path plan).
    var pathKey: ConnectionKey?
    /// The index of the subflow policy the connection follows, when paths are managed.
    var policy: UInt8?
    /// The paths its MPTCP connect has left on so far (bit N is path N): a connect that fails because its
    /// path went away is tried again on a path not in this set.
    var triedPaths: UInt64 = 0
    /// Convert: the authenticated client (its index in the authenticator), holding one unit of its
    /// connection budget until the close.
    var client: Int?
    /// Counted among the worker's connections waiting for their Convert header.
    var pendingHeader = false
    /// Converter side: the request carried an Info TLV, so the answer lists the Supported TCP Extensions.
    var asksForExtensions = false
    /// Whether the MPTCP side really speaks MPTCP (false: fell back to TCP); nil before it is known.
    var multipath: Bool?

    /// The number of ring operations in flight for this slot.
    var pending: Int { armed.rawValue.nonzeroBitCount }
}

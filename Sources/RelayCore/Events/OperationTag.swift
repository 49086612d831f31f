/// What an io_uring operation was for; the low byte of its user data.
enum OperationKind: UInt8 {
    case accept = 1
    case wake
    case tick
    case connect
    case pollDownstreamIn
    case pollDownstreamOut
    case pollUpstreamIn
    case pollUpstreamOut
    case cancel
}

/// The 64-bit user data of an io_uring operation: kind, slot index and slot generation packed together,
/// so a completion finds its connection without a lookup table and stale completions are recognised.
struct OperationTag: Equatable {
    var kind: OperationKind
    var slot: UInt32
    var generation: UInt32

    init(kind: OperationKind, slot: UInt32, generation: UInt32 = 0) {
        self.kind = kind
        self.slot = slot
        self.generation = generation & 0x00FF_FFFF
    }

    init?(_ raw: UInt64) {
        guard let kind = OperationKind(rawValue: UInt8(truncatingIfNeeded: raw)) else { return nil }
        self.kind = kind
        self.generation = UInt32(truncatingIfNeeded: raw >> 8) & 0x00FF_FFFF
        self.slot = UInt32(truncatingIfNeeded: raw >> 32)
    }

    var raw: UInt64 {
        UInt64(kind.rawValue) | UInt64(generation) << 8 | UInt64(slot) << 32
    }
}

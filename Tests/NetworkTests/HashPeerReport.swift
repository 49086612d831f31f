/// One JSON line of `scripts/lib/hashpeer.py`: what one end sent and received on one connection.
struct HashPeerReport: Decodable, Equatable {
    var sent: Int
    var sentSHA256: String
    var received: Int
    var receivedSHA256: String
    /// Seconds from the first received byte to the last.
    var receiveSeconds: Double = 0
    /// The median of the bytes received in each whole second: the steady-state goodput.
    var medianSecondBytes: Int = 0
    /// This end's connection id in the pattern it sent (pattern mode, hashpeer's default).
    var connection: Int?
    /// What the word-by-word check of the received pattern found (pattern mode).
    var pattern: PatternCheck?

    /// hashpeer's check of a received pattern stream: where the damage is and what arrived instead.
    struct PatternCheck: Decodable, Equatable {
        var ok: Bool
        var peerConnection: Int?
        var badRanges: [[Int]]
        var diagnosis: String?

        enum CodingKeys: String, CodingKey {
            case ok
            case peerConnection = "peer_connection"
            case badRanges = "bad_ranges"
            case diagnosis
        }
    }

    /// The pattern check in one line, for failure messages ("" when there is none).
    var patternSummary: String {
        guard let pattern, !pattern.ok else { return "" }
        return " (pattern: \(pattern.diagnosis ?? "?"); bad ranges \(pattern.badRanges))"
    }

    enum CodingKeys: String, CodingKey {
        case sent
        case sentSHA256 = "sent_sha256"
        case received
        case receivedSHA256 = "received_sha256"
        case receiveSeconds = "receive_seconds"
        case medianSecondBytes = "median_second_bytes"
        case connection
        case pattern
    }
}

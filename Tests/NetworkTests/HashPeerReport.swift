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

    enum CodingKeys: String, CodingKey {
        case sent
        case sentSHA256 = "sent_sha256"
        case received
        case receivedSHA256 = "received_sha256"
        case receiveSeconds = "receive_seconds"
        case medianSecondBytes = "median_second_bytes"
    }
}

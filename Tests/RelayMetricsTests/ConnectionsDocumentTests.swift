import RelayCore
import RelayMetrics
import Testing

@Suite("/connections and status: what a person reads")
struct ConnectionsDocumentTests {
    @Test("connection ids read WORKER-SLOT-GENERATION in decimal, not a packed hex number")
    func readableIDs() {
        let packed: UInt64 = 1 << 48 | 3 << 24 | 17
        let snapshot = ConnectionSnapshot(
            id: packed,
            listener: 0,
            client: nil,
            destination: nil,
            ageSeconds: 1,
            bytesUp: 0,
            bytesDown: 0,
            phase: "relaying",
            multipath: true,
            policy: nil,
            subflows: []
        )
        #expect(snapshot.readableID == "1-17-3")
        let document = ConnectionsDocument(snapshots: [snapshot], listenerNames: ["lan"], board: nil, backups: [:])
        #expect(document.connections.map(\.id) == ["1-17-3"])
        #expect(document.connections.map(\.listener) == ["lan"])
    }
}

import ConvertProtocol
import Foundation
import PathManager
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

    @Test("a path with a quota shows what it carried this period, and USED UP once it is")
    func quotas() throws {
        let board = PathBoard(
            plan: PathPlan(
                mode: .relay,
                paths: [
                    PathDefinition(name: "dsl", interface: "x"),
                    PathDefinition(name: "lte", interface: "y", pathClass: .backup, quota: PathQuota(bytes: 4096)),
                ],
                policies: []
            )
        )
        board.setUp(0, true)
        board.setQuotaUsed(of: 1, 3072)
        var document = ConnectionsDocument(snapshots: [], listenerNames: [], board: board, backups: [:])
        #expect(document.paths[0].quotaBytes == nil && document.paths[1].quotaBytes == 4096)
        #expect(document.paths[1].quotaUsedBytes == 3072)
        let json = String(decoding: try JSONEncoder().encode(document), as: UTF8.self)
        #expect(json.contains("\"quota_used_bytes\":3072"))
        #expect(
            StatusTable.render(document).hasPrefix(
                "paths: dsl up (primary), lte DOWN (backup) quota 3.0 KiB of 4.0 KiB\n"
            )
        )
        board.setQuotaUsed(of: 1, 5000)
        document = ConnectionsDocument(snapshots: [], listenerNames: [], board: board, backups: [:])
        #expect(StatusTable.render(document).contains("lte DOWN (backup) quota 4.9 KiB of 4.0 KiB USED UP"))
    }

    @Test("a path whose probes go unanswered shows as DOWN and UNREACHABLE; paths without a probe say nothing")
    func unreachable() throws {
        let target = try #require(Endpoint("198.51.100.7:443"))
        let board = PathBoard(
            plan: PathPlan(
                mode: .relay,
                paths: [
                    PathDefinition(name: "dsl", interface: "x", probe: PathProbe(target: target)),
                    PathDefinition(name: "cable", interface: "y"),
                ],
                policies: []
            )
        )
        board.setUp(0, true)
        board.setUp(1, true)
        board.setUnreachable(0, true)
        let document = ConnectionsDocument(snapshots: [], listenerNames: [], board: board, backups: [:])
        #expect(document.paths.map(\.unreachable) == [true, nil])
        #expect(document.paths.map(\.up) == [false, true])
        let json = String(decoding: try JSONEncoder().encode(document), as: UTF8.self)
        #expect(json.contains("\"unreachable\":true"))
        #expect(
            StatusTable.render(document).hasPrefix(
                "paths: dsl DOWN (primary) UNREACHABLE (probes unanswered), cable up (primary)\n"
            )
        )
    }
}

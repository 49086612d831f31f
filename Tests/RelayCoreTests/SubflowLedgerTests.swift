import Testing

@testable import RelayCore

@Suite("SubflowLedger: per-path totals that only grow")
struct SubflowLedgerTests {
    func figures(_ path: Int, _ acked: UInt64) -> SubflowLedger.Figures {
        SubflowLedger.Figures(path: path, acked: acked, received: 0, sent: acked, retransmitted: 0)
    }

    @Test("a subflow gone in mid-connection hands over its last figures, once; a close the rest")
    func goneSubflows() {
        var ledger = SubflowLedger()
        #expect(ledger.update(slot: 3, generation: 1, current: [0: figures(0, 100), 2: figures(1, 50)]).isEmpty)
        #expect(ledger.path(slot: 3, generation: 1, id: 2) == 1)
        #expect(ledger.path(slot: 3, generation: 2, id: 2) == nil, "another connection in the slot")
        // Subflow 2 (path 1) is gone: its last figures go to the closed totals.
        #expect(ledger.update(slot: 3, generation: 1, current: [0: figures(0, 400)]) == [figures(1, 50)])
        #expect(ledger.update(slot: 3, generation: 1, current: [0: figures(0, 500), 4: figures(1, 10)]).isEmpty)
        // At the close, subflow 4 is gone already: the close's own reading covers only subflow 0.
        #expect(ledger.close(slot: 3, generation: 1, final: [0]) == [figures(1, 10)])
        #expect(ledger.connections.isEmpty)
        #expect(ledger.close(slot: 3, generation: 1, final: []).isEmpty, "counted once")
    }

    @Test("a new connection in a slot does not inherit the old one's subflows")
    func slotReuse() {
        var ledger = SubflowLedger()
        _ = ledger.update(slot: 1, generation: 7, current: [0: figures(0, 100)])
        #expect(ledger.update(slot: 1, generation: 8, current: [0: figures(1, 5)]).isEmpty)
        #expect(ledger.path(slot: 1, generation: 8, id: 0) == 1)
        #expect(ledger.close(slot: 1, generation: 7, final: []).isEmpty, "a stale close changes nothing")
        #expect(ledger.path(slot: 1, generation: 8, id: 0) == 1, "and leaves the new connection's subflows")
    }
}

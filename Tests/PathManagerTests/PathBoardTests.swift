import ConvertProtocol
import PathManager
import Testing

@Suite("PathBoard: what workers and the path manager share")
struct PathBoardTests {
    @Test("the initial path is the first up primary with a source of the right family, else a backup")
    func initialPath() throws {
        let board = PathBoard(plan: threeUplinks)
        let converter = try #require(IPAddress("198.18.1.2"))
        #expect(board.initialPath(policy: 1, upstream: converter) == nil, "every path is down at first")
        for (index, text) in ["198.18.1.1", "198.18.2.1", "198.18.3.1"].enumerated() {
            board.setSource(of: index, ipv6: false, to: IPAddress(text))
        }
        board.setUp(0, true)
        board.setUp(1, true)
        board.setUp(2, true)
        #expect(board.initialPath(policy: 1, upstream: converter)?.index == 0)
        board.setUp(0, false)
        #expect(board.initialPath(policy: 1, upstream: converter)?.index == 1)
        #expect(board.initialPath(policy: 0, upstream: converter)?.index == 2, "interactive falls back to C")
        #expect(board.initialPath(policy: 1, upstream: try #require(IPAddress("2001:db8::2"))) == nil)
        let v6 = try #require(IPAddress("2001:db8:18:2::1"))
        board.setSource(of: 1, ipv6: true, to: v6)
        #expect(board.initialPath(policy: 1, upstream: try #require(IPAddress("2001:db8::2")))?.source == v6)
        #expect(board.upPaths == 0b110)
    }

    @Test("an unreachable path (unanswered probes) is down for everyone while its link stays up")
    func unreachablePaths() throws {
        let board = PathBoard(plan: threeUplinks)
        let converter = try #require(IPAddress("198.18.1.2"))
        for (index, text) in ["198.18.1.1", "198.18.2.1", "198.18.3.1"].enumerated() {
            board.setSource(of: index, ipv6: false, to: IPAddress(text))
            board.setUp(index, true)
        }
        board.setUnreachable(0, true)
        #expect(board.upPaths == 0b110 && board.linkUpPaths == 0b111 && board.unreachablePaths == 0b001)
        #expect(!board.isUp(0))
        #expect(board.initialPath(policy: 0, upstream: converter)?.index == 2, "interactive's backup takes over")
        board.setUnreachable(0, false)
        #expect(board.upPaths == 0b111 && board.initialPath(policy: 0, upstream: converter)?.index == 0)
        // Every path failing its probes: the probes are doubted (one target gone), the links decide.
        for index in 0..<3 { board.setUnreachable(index, true) }
        #expect(board.upPaths == 0b111)
    }

    @Test("a path over its quota is passed over while another path of the policy is up, and the last resort")
    func exhaustedPaths() throws {
        let board = PathBoard(plan: threeUplinks)
        let converter = try #require(IPAddress("198.18.1.2"))
        for (index, text) in ["198.18.1.1", "198.18.2.1", "198.18.3.1"].enumerated() {
            board.setSource(of: index, ipv6: false, to: IPAddress(text))
            board.setUp(index, true)
        }
        let bulk = board.policy(1)  // paths A, B; backup C
        board.setExhausted(0, true)
        #expect(board.exhaustedPaths == 0b001)
        #expect(board.usablePaths(for: bulk) == 0b110)
        #expect(board.initialPath(policy: 1, upstream: converter)?.index == 1, "B, not A over its quota")
        board.setUp(1, false)
        #expect(board.initialPath(policy: 1, upstream: converter)?.index == 2, "the backup before a used-up path")
        board.setUp(2, false)
        #expect(board.usablePaths(for: bulk) == 0b001, "the last resort")
        #expect(board.initialPath(policy: 1, upstream: converter)?.index == 0)
        board.setExhausted(0, false)
        board.setUp(1, true)
        #expect(board.usablePaths(for: bulk) == 0b011)
        // Only paths of the upstream's family count: a used-up IPv6 path does not make A the last resort
        // for an IPv4 upstream, nor hide the one IPv6 path from an IPv6 upstream.
        let v6Converter = try #require(IPAddress("2001:db8::2"))
        board.setSource(of: 2, ipv6: true, to: IPAddress("2001:db8:18:3::1"))
        board.setUp(2, true)
        board.setExhausted(2, true)
        #expect(board.initialPath(policy: 1, upstream: v6Converter)?.index == 2, "the only IPv6 path, used up")
        board.setQuotaUsed(of: 2, 42)
        #expect(board.quotaUsed(of: 2) == 42 && board.quotaUsed(of: 0) == 0)
    }

    @Test("registration, close requests and unregistration")
    func registry() {
        let board = PathBoard(plan: threeUplinks)
        let key = ConnectionKey(path: 1, ipv6: false, port: 40001)
        let sameOtherFamily = ConnectionKey(path: 1, ipv6: true, port: 40001)
        #expect(board.policy(of: key) == nil)
        board.requestClose(key)
        #expect(!board.isCloseRequested(key), "no close request for a connection nobody registered")
        board.register(key, policy: 1)
        #expect(board.policy(of: key) == 1 && board.policy(of: sameOtherFamily) == nil)
        board.requestClose(key)
        #expect(board.isCloseRequested(key) && board.policy(of: key) == 1)
        board.unregister(key)
        #expect(board.policy(of: key) == nil && !board.isCloseRequested(key))
    }
}

@Suite("PathBoard: policies a reload adds")
struct PathBoardPolicyTableTests {
    let bulkOnB = SubflowPolicy(name: "bulk", paths: [1], backups: [2], backupMode: .standby)

    @Test("a changed policy is appended, an unchanged one keeps its index, the order follows the new file")
    func adoptChanged() throws {
        let board = PathBoard(plan: threeUplinks)
        let before = threeUplinks.policies
        #expect(board.policyCount == 3 && board.initialPolicyOrder == [0, 1, 2])
        let order = try #require(board.adoptPolicies([before[0], bulkOnB, before[2]]))
        #expect(order == [0, 3, 2], "interactive and default keep their index; the new bulk is appended")
        #expect(board.policyCount == 4)
        #expect(board.policy(1) == before[1], "the old bulk stays for the connections registered under it")
        #expect(board.policy(3) == bulkOnB)
        let anywhere = Endpoint(address: IPAddress("198.51.100.7")!, port: 443)
        #expect(board.policyIndex(for: anywhere, order: order) == 3)
        #expect(board.policyIndex(for: anywhere, order: board.initialPolicyOrder) == 1)
        #expect(board.policyIndex(for: Endpoint(address: IPAddress("198.51.100.7")!, port: 22), order: order) == 0)
        // Back to the file of before: nothing appended, the old indices again.
        #expect(board.adoptPolicies(before) == [0, 1, 2])
        #expect(board.policyCount == 4)
        #expect(board.currentPlan.policies.count == 4)
        // The initial path of a connection under the new bulk: B.
        board.setSource(of: 1, ipv6: false, to: IPAddress("198.18.2.1"))
        board.setUp(1, true)
        #expect(board.initialPath(policy: 3, upstream: IPAddress("198.18.1.2")!)?.index == 1)
    }

    @Test("the table holds 127 policies over the process's life; a reload past that changes nothing")
    func capacity() {
        let board = PathBoard(plan: threeUplinks)
        var last: [Int]?
        for round in 0..<(PathPlan.maximumPolicies - 3) {
            last = board.adoptPolicies([SubflowPolicy(name: "p\(round)", paths: [0]), threeUplinks.policies[2]])
            #expect(last != nil, "round \(round)")
        }
        #expect(board.policyCount == PathPlan.maximumPolicies)
        #expect(
            board.adoptPolicies([SubflowPolicy(name: "one-too-many", paths: [0]), threeUplinks.policies[2]]) == nil
        )
        #expect(board.policyCount == PathPlan.maximumPolicies)
        // Registered under the highest index, a connection still reads back its policy (7 bits).
        let key = ConnectionKey(path: 0, ipv6: false, port: 40002)
        board.register(key, policy: PathPlan.maximumPolicies - 1)
        #expect(board.policy(of: key) == PathPlan.maximumPolicies - 1 && !board.isCloseRequested(key))
    }
}

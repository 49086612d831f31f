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

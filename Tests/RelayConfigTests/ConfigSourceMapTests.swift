import RelayConfig
import Testing

@Suite("ConfigSourceMap")
struct ConfigSourceMapTests {
    @Test("tables, array elements and keys map to their lines")
    func tablesAndKeys() {
        let map = ConfigSourceMap(
            text: """
                # comment
                [runtime]
                workers = 2

                [[listener]]
                name = "a"
                listen = "198.18.0.1:8000"

                [[listener]]
                name = "b"
                allow = ["198.19.0.0/24", "10.0.0.0/8"]
                """
        )
        #expect(map.line(of: "runtime") == 2)
        #expect(map.line(of: "runtime.workers") == 3)
        #expect(map.line(of: "listener") == 5)
        #expect(map.line(of: "listener[1]") == 5)
        #expect(map.line(of: "listener[1].name") == 6)
        #expect(map.line(of: "listener[1].listen") == 7)
        #expect(map.line(of: "listener[2]") == 9)
        #expect(map.line(of: "listener[2].name") == 10)
        #expect(map.line(of: "listener[2].allow") == 11)
        #expect(map.line(of: "listener[2].allow[2]") == 11)
        #expect(map.line(of: "listener[2].listen") == nil)
    }

    @Test("a missing key falls back to its table header, an unknown path to 0")
    func nearestLine() {
        let map = ConfigSourceMap(text: "[runtime]\n\n[[listener]]\nname = \"a\"\n\n[[listener]]\nrole = \"x\"\n")
        #expect(map.nearestLine(for: "listener[2].upstream") == 6)
        #expect(map.nearestLine(for: "listener[1].name") == 4)
        #expect(map.nearestLine(for: "listener[1].allow[3]") == 3)
        #expect(map.nearestLine(for: "listener[3].name") == 3)
        #expect(map.nearestLine(for: "runtime.workers") == 1)
        #expect(map.nearestLine(for: "metrics.port") == 0)
    }

    @Test("# and = inside strings, and inline comments, are not structure")
    func stringsAndComments() {
        let map = ConfigSourceMap(
            text: #"""
                [[listener]]   # the first one
                name = "a#b = c"   # comment with key = "value"
                "role" = 'x = # y'
                listen = "1.2.3.4:5" # [[listener]]
                # [[listener]]
                # upstream = "x"
                note.sub = "escaped \" quote = # here"
                after = 1
                """#
        )
        #expect(map.line(of: "listener[1].name") == 2)
        #expect(map.line(of: "listener[1].role") == 3)
        #expect(map.line(of: "listener[1].listen") == 4)
        #expect(map.line(of: "listener[2]") == nil)
        #expect(map.line(of: "listener[1].upstream") == nil)
        #expect(map.line(of: "listener[1].note") == 7)
        #expect(map.line(of: "listener[1].note.sub") == 7)
        #expect(map.line(of: "listener[1].after") == 8)
    }

    @Test("multi-line arrays and strings keep the line count and number elements from 1")
    func multiLineValues() {
        let map = ConfigSourceMap(
            text: #"""
                [[listener]]
                allow = [
                  "198.19.0.0/24",   # LAN, with a comma, in a comment
                  # "10.0.0.0/8",
                  "10.1.0.0/16",
                ]
                description = """
                key = "not a key"
                [[listener]]
                """
                literal = '''
                name = 'x' '''
                name = "after"
                """#
        )
        #expect(map.line(of: "listener[1].allow") == 2)
        #expect(map.line(of: "listener[1].allow[1]") == 3)
        #expect(map.line(of: "listener[1].allow[2]") == 5)
        #expect(map.line(of: "listener[1].allow[3]") == nil)
        #expect(map.line(of: "listener[1].description") == 7)
        #expect(map.line(of: "listener[1].key") == nil)
        #expect(map.line(of: "listener[2]") == nil)
        #expect(map.line(of: "listener[1].literal") == 11)
        #expect(map.line(of: "listener[1].name") == 13)
    }

    @Test("inline tables, dotted headers and sub-tables of array elements")
    func inlineTablesAndSubTables() {
        let map = ConfigSourceMap(
            text: """
                runtime = { workers = 2, pipe_size = 4096 }
                [[listener]]
                [[listener]]
                [listener.extra]
                key = 1
                [ a . "b.c" ]
                d = 2
                """
        )
        #expect(map.line(of: "runtime") == 1)
        #expect(map.line(of: "runtime.workers") == 1)
        #expect(map.line(of: "runtime.pipe_size") == 1)
        #expect(map.line(of: "listener[2]") == 3)
        #expect(map.line(of: "listener[2].extra") == 4)
        #expect(map.line(of: "listener[2].extra.key") == 5)
        #expect(map.line(of: "a.b.c") == 6)
        #expect(map.line(of: "a.b.c.d") == 7)
    }

    @Test("CRLF line endings")
    func crlf() {
        let map = ConfigSourceMap(text: "[runtime]\r\nworkers = 2\r\n\r\n[[listener]]\r\nname = \"a\"\r\n")
        #expect(map.line(of: "runtime.workers") == 2)
        #expect(map.line(of: "listener[1].name") == 5)
    }
}

/// Maps key paths of a TOML document to the 1-based line where each is written.
///
/// TOMLKit returns values without source positions, so this scans the text itself: it follows
/// `[table]` and `[[array]]` headers (numbering array elements from 1, as a user counts), dotted
/// and quoted keys, inline tables, multi-line arrays and all four string forms, so that a `#` or `=`
/// inside a string or a line inside a multi-line value is never mistaken for structure.
/// Key paths look like `runtime.workers`, `listener[2]`, `listener[2].allow[1]`.
///
/// It is not a validating parser: on malformed input it records what it can and skips to the next
/// line, and TOMLKit reports the syntax error.
package struct ConfigSourceMap: Sendable {
    /// The first line on which each key path appears.
    package private(set) var lines: [String: Int] = [:]

    /// Scans `text` and records the line of every table header, key and array element.
    package init(text: String) {
        var scanner = Scanner(bytes: Array(text.utf8))
        scanner.scanDocument()
        self.lines = scanner.lines
    }

    /// The line where `keyPath` itself is written, or `nil` when it does not appear in the text.
    package func line(of keyPath: String) -> Int? {
        self.lines[keyPath]
    }

    /// The line of `keyPath` or, when it is not written (a missing key), of its closest written
    /// ancestor: `listener[2].upstream` falls back to the `[[listener]]` header of element 2.
    /// Returns 0 when nothing on the path appears in the text.
    package func nearestLine(for keyPath: String) -> Int {
        var path = Substring(keyPath)
        while !path.isEmpty {
            if let line = self.lines[String(path)] {
                return line
            }
            path = Self.parent(of: path)
        }
        return 0
    }

    /// `a.b[3]` → `a.b` → `a` → empty.
    private static func parent(of path: Substring) -> Substring {
        if path.last == "]", let open = path.lastIndex(of: "[") {
            return path[..<open]
        }
        if let dot = path.lastIndex(of: ".") {
            return path[..<dot]
        }
        return ""
    }
}

extension ConfigSourceMap {
    /// A byte-level scanner over the document; all TOML structure is ASCII.
    private struct Scanner {
        let bytes: [UInt8]
        var position = 0
        var line = 1
        var lines: [String: Int] = [:]
        /// The resolved path of the table that key/value lines currently belong to ("" at the root).
        var currentTable = ""
        /// How many elements each array of tables (by resolved path, without index) has so far.
        var arrayTableCounts: [String: Int] = [:]

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        var current: UInt8? { self.position < self.bytes.count ? self.bytes[self.position] : nil }

        func peek(_ offset: Int) -> UInt8? {
            let index = self.position + offset
            return index < self.bytes.count ? self.bytes[index] : nil
        }

        mutating func advance() {
            if self.current == ASCII.newline {
                self.line += 1
            }
            self.position += 1
        }

        mutating func record(_ path: String, line: Int) {
            if self.lines[path] == nil {
                self.lines[path] = line
            }
        }

        mutating func scanDocument() {
            while self.current != nil {
                self.skipBlank(acrossLines: true)
                guard let byte = self.current else { break }
                if byte == ASCII.openBracket {
                    self.scanHeader()
                } else {
                    self.scanKeyValue(inTable: self.currentTable)
                }
                self.skipRestOfLine()
            }
        }

        /// `[a.b]` or `[[a.b]]`.
        mutating func scanHeader() {
            let headerLine = self.line
            self.advance()
            let isArray = self.current == ASCII.openBracket
            if isArray {
                self.advance()
            }
            guard let keys = self.scanKey(), !keys.isEmpty else { return }
            var resolved = ""
            for (offset, key) in keys.enumerated() {
                resolved = Self.join(resolved, key)
                let isLast = offset == keys.count - 1
                if isLast && isArray {
                    let count = (self.arrayTableCounts[resolved] ?? 0) + 1
                    self.arrayTableCounts[resolved] = count
                    self.record(resolved, line: headerLine)
                    resolved += "[\(count)]"
                } else if let count = self.arrayTableCounts[resolved] {
                    // A sub-table or nested array of the last element of an array of tables.
                    resolved += "[\(count)]"
                }
            }
            self.record(resolved, line: headerLine)
            self.currentTable = resolved
        }

        /// `key = value`, where key may be dotted; records the key and everything inside the value.
        mutating func scanKeyValue(inTable table: String) {
            let keyLine = self.line
            guard let keys = self.scanKey(), !keys.isEmpty else { return }
            var path = table
            for key in keys {
                path = Self.join(path, key)
                self.record(path, line: keyLine)
            }
            self.skipBlank(acrossLines: false)
            guard self.current == ASCII.equals else { return }
            self.advance()
            self.skipBlank(acrossLines: false)
            self.scanValue(path: path)
        }

        /// One or more simple keys separated by dots: bare, "basic" or 'literal'.
        mutating func scanKey() -> [String]? {
            var keys: [String] = []
            while true {
                self.skipBlank(acrossLines: false)
                guard let byte = self.current else { return nil }
                let key: String
                if byte == ASCII.doubleQuote {
                    guard let text = self.scanSingleLineString(quote: ASCII.doubleQuote, escapes: true) else {
                        return nil
                    }
                    key = text
                } else if byte == ASCII.singleQuote {
                    guard let text = self.scanSingleLineString(quote: ASCII.singleQuote, escapes: false) else {
                        return nil
                    }
                    key = text
                } else if ASCII.isBareKey(byte) {
                    let start = self.position
                    while let next = self.current, ASCII.isBareKey(next) {
                        self.advance()
                    }
                    key = String(decoding: self.bytes[start..<self.position], as: UTF8.self)
                } else {
                    return nil
                }
                keys.append(key)
                self.skipBlank(acrossLines: false)
                guard self.current == ASCII.dot else { return keys }
                self.advance()
            }
        }

        mutating func scanValue(path: String) {
            guard let byte = self.current else { return }
            switch byte {
            case ASCII.doubleQuote, ASCII.singleQuote:
                if self.peek(1) == byte && self.peek(2) == byte {
                    self.skipMultiLineString(quote: byte)
                } else {
                    _ = self.scanSingleLineString(quote: byte, escapes: byte == ASCII.doubleQuote)
                }
            case ASCII.openBracket:
                self.scanArray(path: path)
            case ASCII.openBrace:
                self.scanInlineTable(path: path)
            default:
                // Numbers, booleans, dates (which may contain a space): up to a delimiter.
                while let next = self.current, !ASCII.endsScalar(next) {
                    self.advance()
                }
            }
        }

        mutating func scanArray(path: String) {
            self.advance()
            var index = 0
            while true {
                self.skipBlank(acrossLines: true)
                guard let byte = self.current else { return }
                if byte == ASCII.closeBracket {
                    self.advance()
                    return
                }
                if byte == ASCII.comma {
                    self.advance()
                    continue
                }
                index += 1
                let elementPath = "\(path)[\(index)]"
                self.record(elementPath, line: self.line)
                let before = self.position
                self.scanValue(path: elementPath)
                if self.position == before {
                    self.advance()  // Malformed: never loop in place.
                }
            }
        }

        mutating func scanInlineTable(path: String) {
            self.advance()
            while true {
                self.skipBlank(acrossLines: true)
                guard let byte = self.current else { return }
                if byte == ASCII.closeBrace {
                    self.advance()
                    return
                }
                if byte == ASCII.comma {
                    self.advance()
                    continue
                }
                let before = self.position
                self.scanKeyValue(inTable: path)
                if self.position == before {
                    self.advance()
                }
            }
        }

        /// Scans a "basic" or 'literal' string that ends on its line and returns its (roughly
        /// unescaped) text, or `nil` when the line ends first.
        mutating func scanSingleLineString(quote: UInt8, escapes: Bool) -> String? {
            self.advance()
            var text: [UInt8] = []
            while let byte = self.current, byte != ASCII.newline {
                self.advance()
                if byte == quote {
                    return String(decoding: text, as: UTF8.self)
                }
                if escapes && byte == ASCII.backslash, let escaped = self.current, escaped != ASCII.newline {
                    self.advance()
                    text.append(escaped)
                } else {
                    text.append(byte)
                }
            }
            return nil
        }

        /// Skips a """multi-line""" or '''multi-line''' string, which may end in up to five quotes.
        mutating func skipMultiLineString(quote: UInt8) {
            for _ in 0..<3 {
                self.advance()
            }
            while let byte = self.current {
                if byte == ASCII.backslash && quote == ASCII.doubleQuote {
                    self.advance()
                    self.advance()
                    continue
                }
                if byte == quote && self.peek(1) == quote && self.peek(2) == quote {
                    for _ in 0..<3 {
                        self.advance()
                    }
                    var extra = 0
                    while extra < 2 && self.current == quote {
                        self.advance()
                        extra += 1
                    }
                    return
                }
                self.advance()
            }
        }

        /// Skips spaces and tabs and, when `acrossLines`, also newlines and comments.
        mutating func skipBlank(acrossLines: Bool) {
            while let byte = self.current {
                if byte == ASCII.space || byte == ASCII.tab || byte == ASCII.carriageReturn {
                    self.advance()
                } else if acrossLines && byte == ASCII.newline {
                    self.advance()
                } else if acrossLines && byte == ASCII.hash {
                    self.skipComment()
                } else {
                    return
                }
            }
        }

        mutating func skipComment() {
            while let byte = self.current, byte != ASCII.newline {
                self.advance()
            }
        }

        /// After a header or key/value: the comment and anything malformed up to the newline.
        mutating func skipRestOfLine() {
            while let byte = self.current, byte != ASCII.newline {
                self.advance()
            }
            if self.current == ASCII.newline {
                self.advance()
            }
        }

        static func join(_ prefix: String, _ key: String) -> String {
            prefix.isEmpty ? key : prefix + "." + key
        }
    }

    /// The ASCII bytes that make up TOML's structure.
    private enum ASCII {
        static let tab = UInt8(ascii: "\t")
        static let newline = UInt8(ascii: "\n")
        static let carriageReturn = UInt8(ascii: "\r")
        static let space = UInt8(ascii: " ")
        static let doubleQuote = UInt8(ascii: "\"")
        static let hash = UInt8(ascii: "#")
        static let singleQuote = UInt8(ascii: "'")
        static let comma = UInt8(ascii: ",")
        static let dot = UInt8(ascii: ".")
        static let equals = UInt8(ascii: "=")
        static let openBracket = UInt8(ascii: "[")
        static let backslash = UInt8(ascii: "\\")
        static let closeBracket = UInt8(ascii: "]")
        static let openBrace = UInt8(ascii: "{")
        static let closeBrace = UInt8(ascii: "}")

        static func isBareKey(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"):
                return true
            default:
                return false
            }
        }

        static func endsScalar(_ byte: UInt8) -> Bool {
            byte == comma || byte == closeBracket || byte == closeBrace || byte == hash || byte == newline
        }
    }
}

import PathManager
import TOMLKit

/// `[[path]] quota = { bytes = "20GB", period = "month", reset_day = 1 }`.
extension ConfigDecoder {
    /// The keys of a path's `quota` table, in documented order.
    static let quotaKeys = ["bytes", "period", "reset_day"]

    /// Byte units a quota may name: decimal (`GB` = 10^9) and binary (`GiB` = 2^30), and plain bytes.
    static let byteUnits: [(suffix: String, factor: Double)] = [
        ("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("TiB", 1_099_511_627_776),
        ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("TB", 1e12), ("B", 1),
    ]

    /// Decodes a path's `quota` table; `key` is `path[N].quota`.
    mutating func decodeQuota(_ value: any TOMLValueConvertible, key: String) -> PathQuota? {
        let example = "{ bytes = \"20GB\", period = \"month\", reset_day = 1 }"
        guard let table = value.table else {
            self.report(key, "expected a table such as \(example), found \(Self.describe(value))")
            return nil
        }
        self.reportUnknownKeys(in: table, path: key, allowed: Self.quotaKeys)
        var valid = true
        var bytes: UInt64?
        if let value = self.required(table["bytes"], key: "\(key).bytes", expected: "a size such as \"20GB\"") {
            bytes = self.byteCount(value, key: "\(key).bytes")
        }
        if bytes == nil { valid = false }
        var period = QuotaPeriod.month
        if let value = table["period"], let text = self.string(value, key: "\(key).period") {
            if let parsed = QuotaPeriod(rawValue: text) {
                period = parsed
            } else {
                self.report(
                    "\(key).period",
                    "\"\(text)\" is not a quota period; expected \"day\", \"week\" or \"month\""
                )
                valid = false
            }
        } else if table.contains(key: "period") {
            valid = false
        }
        var resetDay = 1
        if let value = table["reset_day"] {
            switch period {
            case .month:
                if let day = self.integer(value, key: "\(key).reset_day", in: 1...28) {
                    resetDay = day
                } else {
                    valid = false
                }
            case .week:
                if let day = self.integer(value, key: "\(key).reset_day", in: 1...7) {
                    resetDay = day
                } else {
                    valid = false
                }
            case .day:
                self.report("\(key).reset_day", "a daily quota starts again every midnight; remove reset_day")
                valid = false
            }
        }
        guard valid, let bytes else { return nil }
        return PathQuota(bytes: bytes, period: period, resetDay: resetDay)
    }

    /// A positive byte count: an integer, or a string of a number and a unit (`"20GB"`, `"1.5 GiB"`).
    mutating func byteCount(_ value: any TOMLValueConvertible, key: String) -> UInt64? {
        let expected = "expected a size such as \"20GB\", \"500MiB\" or a number of bytes"
        if let integer = value.int {
            guard integer > 0 else {
                self.report(key, "\(integer) is out of range; \(expected), greater than 0")
                return nil
            }
            return UInt64(integer)
        }
        guard let text = value.string else {
            self.report(key, "\(expected), found \(Self.describe(value))")
            return nil
        }
        let trimmed = text.trimmingSpaces
        for (suffix, factor) in Self.byteUnits where trimmed.hasSuffix(suffix) {
            let number = String(trimmed.dropLast(suffix.count)).trimmingSpaces
            guard number.utf8.allSatisfy({ $0 == UInt8(ascii: ".") || (0x30...0x39).contains($0) }),
                let amount = Double(number), amount.isFinite
            else { break }
            let bytes = (amount * factor).rounded()
            guard bytes >= 1, bytes < 1.8e19 else {
                self.report(key, "\"\(text)\" is out of range; \(expected), at least one byte")
                return nil
            }
            return UInt64(bytes)
        }
        self.report(key, "\"\(text)\" is not a size; \(expected) (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)")
        return nil
    }
}

extension String {
    /// The string without leading and trailing spaces.
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return String(text)
    }
}

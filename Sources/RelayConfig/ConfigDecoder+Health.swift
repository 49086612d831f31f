import PathManager
import TOMLKit

/// `[health]`: passive health checks of the paths.
extension ConfigDecoder {
    /// The keys of `[health]`, in documented order.
    static let healthKeys = ["degraded_loss", "degraded_rtt", "recover_after"]

    /// Decodes `[health]` (absent: no health checks); it needs `[[path]]` tables.
    mutating func decodeHealth(_ value: (any TOMLValueConvertible)?, paths: [PathDefinition]) -> PathHealthSettings? {
        guard let value else { return nil }
        guard let table = value.table else {
            self.report("health", "expected a [health] table, found \(Self.describe(value))")
            return nil
        }
        self.reportUnknownKeys(in: table, path: "health", allowed: Self.healthKeys)
        var settings = PathHealthSettings()
        if let value = table["degraded_loss"] {
            let number = value.double ?? value.int.map(Double.init)
            if let number, number > 0, number < 1 {
                settings.degradedLoss = number
            } else {
                self.report(
                    "health.degraded_loss",
                    "\(Self.describe(value)) is not a share of lost bytes; expected a number between 0 and 1, such as 0.05"
                )
            }
        }
        if let value = table["degraded_rtt"],
            let milliseconds = self.milliseconds(value, key: "health.degraded_rtt", in: 1...60_000)
        {
            settings.degradedRTTMilliseconds = milliseconds
        }
        if let value = table["recover_after"],
            let milliseconds = self.milliseconds(value, key: "health.recover_after", in: 1000...3_600_000)
        {
            settings.recoverAfterMilliseconds = milliseconds
        }
        if paths.isEmpty {
            self.report(
                "health",
                "health checks watch the paths, but there is no [[path]] table; add the uplinks first"
            )
        }
        return settings
    }

    /// A duration in milliseconds within `range`: seconds as a number (`0.4`), or a string with a unit
    /// (`"400ms"`, `"10s"`).
    mutating func milliseconds(_ value: any TOMLValueConvertible, key: String, in range: ClosedRange<Int64>) -> Int64? {
        let expected =
            "expected seconds (0.4) or a duration such as \"400ms\" or \"10s\", from \(range.lowerBound) ms to \(range.upperBound / 1000) s"
        var milliseconds: Double?
        if let integer = value.int {
            milliseconds = Double(integer) * 1000
        } else if let double = value.double {
            milliseconds = double * 1000
        } else if let text = value.string {
            if text.hasSuffix("ms") {
                milliseconds = Double(text.dropLast(2))
            } else if text.hasSuffix("s") {
                milliseconds = Double(text.dropLast()).map { $0 * 1000 }
            }
        }
        guard let milliseconds, milliseconds.isFinite, milliseconds >= Double(range.lowerBound),
            milliseconds <= Double(range.upperBound)
        else {
            self.report(key, "\(Self.describe(value)) is not a duration in range; \(expected)")
            return nil
        }
        return Int64(milliseconds.rounded())
    }
}

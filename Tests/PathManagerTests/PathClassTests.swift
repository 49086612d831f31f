import Testing

@testable import PathManager

@Test func pathClassNames() { #expect(PathClass(rawValue: "backup") == .backup) }

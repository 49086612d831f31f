/// Whether a path carries traffic normally (primary) or only when no primary is left (backup).
public enum PathClass: String, Sendable, Equatable, CaseIterable {
    case primary
    case backup
}

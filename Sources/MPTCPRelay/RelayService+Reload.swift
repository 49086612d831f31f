import ClientAuthentication
import Logging
import PathManager
public import RelayConfig
import RelayCore
import Synchronization
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// Where a reload reads the configuration: the file's contents now, or the lines that say why they are
/// not a valid configuration (file, line and key each).
public typealias ConfigurationSource = @Sendable () -> Result<RelayConfiguration, ConfigurationLoadFailure>

/// Why a configuration could not be loaded: one line per error, as `check-config` prints them.
public struct ConfigurationLoadFailure: Error, Sendable {
    /// The error lines.
    public var lines: [String]

    /// A failure made of `lines`.
    public init(lines: [String]) {
        self.lines = lines
    }
}

/// The configuration a running relay applies, and where reloads read the next one.
final class ReloadState: Sendable {
    let source: ConfigurationSource
    let running: Mutex<RelayConfiguration>

    init(source: @escaping ConfigurationSource, running: RelayConfiguration) {
        self.source = source
        self.running = Mutex(running)
    }
}

extension RelayService {
    /// Reloads on every SIGHUP until the task is cancelled. `hangups` is made before READY=1, so that a
    /// SIGHUP from then on never takes the process's default action (exit).
    func serveReloads(_ hangups: UnixSignalsSequence) async {
        for await _ in hangups {
            reload()
        }
    }

    /// Reads the configuration again and applies what can change while running (listeners, their roles,
    /// allow lists and clients, and `[[policy]]` tables for new connections); what cannot (`[runtime]`,
    /// `[[path]]`, `path_manager`, `announce`, `[metrics]`) is logged as waiting for a restart. An invalid
    /// file changes nothing: each error is logged.
    public func reload() {
        guard let reloads else { return }
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1000
        notifier.notify("RELOADING=1\nMONOTONIC_USEC=\(microseconds)\nSTATUS=reloading the configuration")
        defer { notifier.notify("READY=1\nSTATUS=relaying") }
        logger.info("reload: reading the configuration again (SIGHUP)")
        let configuration: RelayConfiguration
        switch reloads.source() {
        case .failure(let failure):
            for line in failure.lines {
                logger.error("reload refused: the running configuration stays", metadata: ["error": "\(line)"])
            }
            return
        case .success(let loaded):
            configuration = loaded
        }
        let running = reloads.running.withLock { $0 }
        let specs = adoptAuthenticator(EngineBlueprint(configuration).listeners)
        var waiting = Self.restartOnly(running: running, loaded: configuration)
        let policies = adoptPolicies(running: running, loaded: configuration, waiting: &waiting)
        let changes: ListenerChanges
        do {
            changes = try engine.reload(listeners: specs, policyOrder: policies?.order)
        } catch {
            logger.error("reload refused: the running configuration stays", metadata: ["error": "\(error)"])
            return
        }
        // What runs now: the new listeners, clients and policies; the rest stays as it started.
        var applied = running
        applied.listeners = configuration.listeners
        applied.clients = configuration.clients
        if policies != nil {
            applied.pathPlan = running.pathPlan.replacingPolicies(configuration.pathPlan.policies)
        }
        reloads.running.withLock { $0 = applied }
        if let policies {
            logger.info(
                "reload: new connections follow the changed policies; live ones keep theirs",
                metadata: [
                    "policies": "\(configuration.pathPlan.policies.map(\.name).joined(separator: ","))",
                    "changed": "\(policies.changed.joined(separator: ","))",
                ]
            )
        }
        logger.info(
            changes.isEmpty ? "reloaded: no listener changed" : "reloaded",
            metadata: [
                "added": "\(changes.added.joined(separator: ","))",
                "removed": "\(changes.removed.joined(separator: ","))",
                "changed": "\(changes.changed.joined(separator: ","))",
                "clients": "\(configuration.clients.count)",
            ]
        )
        if !waiting.isEmpty {
            logger.warning(
                "reload: these settings changed and take effect only at the next restart",
                metadata: ["settings": "\(waiting.joined(separator: ", "))"]
            )
        }
    }

    /// The reloaded `[[policy]]` tables taken into the path board when they changed (and the paths did
    /// not): the board's indices in matching order, and the names of the policies that are new or
    /// different. Nil when nothing changed, or when they cannot be taken (no board, paths changed, the
    /// board full): then `waiting` names them.
    private func adoptPolicies(
        running: RelayConfiguration,
        loaded: RelayConfiguration,
        waiting: inout [String]
    ) -> (order: [Int], changed: [String])? {
        let before = running.pathPlan.policies
        let after = loaded.pathPlan.policies
        guard before != after else { return nil }
        guard let board = pathBoard, running.pathPlan.withoutPolicies == loaded.pathPlan.withoutPolicies else {
            if !waiting.contains(Self.pathSettings) { waiting.append("[[policy]]") }
            return nil
        }
        guard let order = board.adoptPolicies(after) else {
            waiting.append("[[policy]]")
            logger.error(
                "reload: the policies did not change: more than \(PathPlan.maximumPolicies) different policies over this process's life; restart to apply them"
            )
            return nil
        }
        let changed = after.filter { !before.contains($0) }.map(\.name)
        return (order, changed)
    }

    /// Convert listeners check clients with the running authenticator's window and replay cache (a cookie
    /// seen before the reload stays refused after it), and keep the running authenticator itself when the
    /// clients did not change (so those listeners count as unchanged).
    private func adoptAuthenticator(_ specs: [ListenerSpec]) -> [ListenerSpec] {
        guard let current = engine.runningListeners.lazy.compactMap(\.authenticator).first else { return specs }
        guard let loaded = specs.lazy.compactMap(\.authenticator).first else { return specs }
        let adopted =
            loaded.authenticator.clients == current.authenticator.clients
            ? current : SharedAuthenticator(current.authenticator.withClients(loaded.authenticator.clients))
        return specs.map { spec in
            var spec = spec
            if spec.authenticator != nil { spec.authenticator = adopted }
            return spec
        }
    }

    /// The settings whose change needs a restart, where `loaded` differs from `running`.
    static func restartOnly(running: RelayConfiguration, loaded: RelayConfiguration) -> [String] {
        var names: [String] = []
        let old = Mirror(reflecting: running.runtime).children
        let new = Mirror(reflecting: loaded.runtime).children
        for (before, after) in zip(old, new) where "\(before.value)" != "\(after.value)" {
            names.append("runtime.\(snakeCase(before.label ?? "?"))")
        }
        if running.pathPlan.withoutPolicies != loaded.pathPlan.withoutPolicies { names.append(pathSettings) }
        if running.metrics != loaded.metrics { names.append("[metrics]") }
        return names
    }

    /// What `restartOnly` calls the path settings a reload cannot change.
    static let pathSettings = "[[path]], path_manager, announce"

    /// `cookieWindow` → `cookie_window`.
    static func snakeCase(_ name: String) -> String {
        var result = ""
        for character in name {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }
}

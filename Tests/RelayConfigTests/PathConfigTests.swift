import ConvertProtocol
import Foundation
import PathManager
import RelayConfig
import Testing

/// The example: two primaries, one backup, two policies.
let pathsAndPolicies = """
    [[path]]
    name = "dsl"
    interface = "upa0"
    class = "primary"
    [[path]]
    name = "cable"
    source = "198.18.2.1"
    table = 102
    [[path]]
    name = "lte"
    interface = "upc0"
    class = "backup"

    [[policy]]
    name = "interactive"
    match = { destination_ports = [22, 3389] }
    paths = ["dsl"]
    backup = ["lte"]
    backup_mode = "on-demand"
    [[policy]]
    name = "bulk"
    match = { destinations = ["0.0.0.0/0"] }
    paths = ["dsl", "cable"]
    backup = ["lte"]
    backup_mode = "standby"
    congestion = "bbr"
    """

@Suite("[[path]], [[policy]] and path_manager")
struct PathConfigTests {
    @Test("the documented example decodes into a plan with an implicit default policy")
    func example() throws {
        let configuration = try ConfigLoader.parse(validForward + "\n" + pathsAndPolicies, file: "t.toml")
        let plan = configuration.pathPlan
        #expect(plan.mode == .relay)
        #expect(plan.paths.map(\.name) == ["dsl", "cable", "lte"])
        #expect(plan.paths[0] == PathDefinition(name: "dsl", interface: "upa0"))
        #expect(plan.paths[1] == PathDefinition(name: "cable", source: IPAddress("198.18.2.1"), table: 102))
        #expect(plan.paths[2].pathClass == .backup)
        #expect(plan.policies.map(\.name) == ["interactive", "bulk", "default"])
        #expect(plan.policies[0].paths == [0] && plan.policies[0].backups == [2])
        #expect(plan.policies[0].backupMode == .onDemand && plan.policies[0].congestion == nil)
        #expect(plan.policies[1].paths == [0, 1] && plan.policies[1].backupMode == .standby)
        #expect(plan.policies[1].congestion == "bbr")
        #expect(plan.policies[2].paths == [0, 1] && plan.policies[2].backups == [2])

        let ssh = try endpoint("198.19.0.2:22")
        let web = try endpoint("198.19.0.2:443")
        let v6 = try endpoint("[2001:db8::2]:443")
        #expect(plan.policyIndex(for: ssh) == 0)
        #expect(plan.policyIndex(for: web) == 1)
        #expect(plan.policyIndex(for: v6) == 2, "0.0.0.0/0 does not take IPv6, so the default does")
    }

    @Test("no paths: nothing is managed, and path_manager defaults to none")
    func unmanaged() throws {
        let configuration = try ConfigLoader.parse(validForward, file: "t.toml")
        #expect(configuration.pathPlan == .unmanaged)
        let kernel = try ConfigLoader.parse(
            "[runtime]\npath_manager = \"kernel\"\n" + validForward + "\n" + pathsAndPolicies,
            file: "t.toml"
        )
        #expect(kernel.pathPlan.mode == .kernel)
        // Its endpoints open every join at establishment, which reaches a kernel bug (RELIABILITY finding 2).
        let warnings = kernel.warnings.map(\.description).filter { $0.contains("path_manager") }
        #expect(warnings.count == 1, "\(warnings)")
        #expect(
            warnings.first?.hasPrefix(
                "t.toml:2: runtime.path_manager: the in-kernel path manager opens join subflows the moment"
            ) == true && warnings.first?.contains("finding 2") == true,
            "\(warnings)"
        )
        #expect(configuration.warnings.isEmpty)
    }

    @Test(
        "each mistake names its line and key",
        arguments: [
            (
                "[[path]]\nname = \"a\"\nclass = \"spare\"\ninterface = \"eth1\"\n",
                "t.toml:9: path[1].class: \"spare\" is not a path class; expected \"primary\" or \"backup\""
            ),
            (
                "[[path]]\nname = \"a\"\n",
                "t.toml:7: path[1].interface: missing required key; a path needs interface (\"eth1\"), source (\"198.18.1.1\") or both"
            ),
            (
                "[[path]]\nname = \"a\"\nsource = \"224.0.0.1\"\n",
                "t.toml:9: path[1].source: \"224.0.0.1\" is not a unicast address; expected one such as 198.18.1.1"
            ),
            (
                "[[path]]\nname = \"a\"\ninterface = \"a very long name\"\n",
                "t.toml:9: path[1].interface: \"a very long name\" is not an interface name; expected 1 to 15 characters without spaces, / or :"
            ),
            (
                "[[path]]\nname = \"a\"\ninterface = \"x\"\n[[path]]\nname = \"a\"\ninterface = \"y\"\n",
                "t.toml:11: path[2].name: \"a\" is already the name of path[1]; names must be unique"
            ),
            (
                "[[path]]\nname = \"dsl\"\ninterface = \"x\"\n[[policy]]\nname = \"p\"\npaths = [\"dls\"]\n",
                "t.toml:12: policy[1].paths[1]: no [[path]] is named \"dls\"; did you mean \"dsl\"?"
            ),
            (
                "[[path]]\nname = \"dsl\"\ninterface = \"x\"\n[[policy]]\nname = \"p\"\n",
                "t.toml:10: policy[1].paths: missing required key; expected the names of the paths that carry this policy's subflows, such as [\"dsl\"]"
            ),
            (
                "[[path]]\nname = \"dsl\"\ninterface = \"x\"\n[[policy]]\nname = \"p\"\npaths = [\"dsl\"]\nbackup = [\"dsl\"]\n",
                "t.toml:13: policy[1].backup: \"dsl\" is in both paths and backup; name each path in one of them"
            ),
            (
                "[[path]]\nname = \"dsl\"\ninterface = \"x\"\n[[policy]]\nname = \"p\"\npaths = [\"dsl\"]\nbackup_mode = \"hot\"\n",
                "t.toml:13: policy[1].backup_mode: \"hot\" is not a backup mode; expected \"standby\" or \"on-demand\""
            ),
            (
                "[[path]]\nname = \"dsl\"\ninterface = \"x\"\n[[policy]]\nname = \"p\"\npaths = [\"dsl\"]\nmode = \"fastest\"\n",
                "t.toml:13: policy[1].mode: \"fastest\" is not a steering mode; expected one of \"aggregate\", \"active-standby\", \"weighted\", \"lowest-rtt\""
            ),
            (
                "[[path]]\nname = \"dsl\"\ninterface = \"x\"\n[[policy]]\nname = \"p\"\npaths = [\"dsl\"]\nmode = \"lowest-rtt\"\n",
                "t.toml:13: policy[1].mode: \"lowest-rtt\" compares the RTT the health checks measure; add a [health] table"
            ),
            (
                "[[path]]\nname = \"dsl\"\ninterface = \"x\"\n[[policy]]\nname = \"p\"\npaths = [\"dsl\"]\nweights = { dsl = 2 }\n",
                "t.toml:13: policy[1].weights: weights apply only with mode = \"weighted\"; add it or remove weights"
            ),
            (
                "[[path]]\nname = \"dsl\"\ninterface = \"x\"\n[[path]]\nname = \"lte\"\ninterface = \"y\"\n[[policy]]\nname = \"p\"\npaths = [\"dsl\"]\nmode = \"weighted\"\nweights = { lte = 2 }\n",
                "t.toml:17: policy[1].weights.lte: \"lte\" is not one of this policy's paths; weights name its paths: dsl"
            ),
            (
                "[[path]]\nname = \"dsl\"\ninterface = \"x\"\n[[policy]]\nname = \"p\"\npaths = [\"dsl\"]\nmode = \"weighted\"\nweights = { dsl = 0 }\n",
                "t.toml:14: policy[1].weights.dsl: 0 is out of range; expected 1...1000"
            ),
            (
                "[[path]]\nname = \"dsl\"\ninterface = \"x\"\n[[policy]]\nname = \"p\"\npaths = [\"dsl\"]\nmode = \"weighted\"\nweights = [3]\n",
                "t.toml:14: policy[1].weights: expected a table of path weights such as { cable = 3, dsl = 1 }, found an array"
            ),
            (
                "[[path]]\nname = \"dsl\"\ninterface = \"x\"\n[[policy]]\nname = \"p\"\npaths = [\"dsl\"]\nmatch = { destination_ports = [0] }\n",
                "t.toml:13: policy[1].match.destination_ports[1]: 0 is out of range; expected 1...65535"
            ),
            (
                "[[path]]\nname = \"dsl\"\ninterface = \"x\"\n[[policy]]\nname = \"p\"\npaths = [\"dsl\"]\nmatch = { port = 22 }\n",
                "t.toml:13: policy[1].match.port: unknown key; expected one of destination_ports, destinations"
            ),
            (
                "[[path]]\nname = \"dsl\"\ninterface = \"x\"\n[[policy]]\nname = \"p\"\npaths = [\"dsl\"]\ncongestion = \"B B R\"\n",
                "t.toml:13: policy[1].congestion: \"B B R\" is not a congestion control name; expected one such as \"bbr\" or \"cubic\""
            ),
            (
                "[[path]]\nname = \"dsl\"\ninterface = \"x\"\n[[policy]]\nname = \"p\"\npaths = [\"dsl\"]\njoin_after = 20\n",
                "t.toml:13: policy[1].join_after: integer 20 is out of range; expected seconds from 0 up to 10"
            ),
            (
                "[[path]]\nname = \"dsl\"\ninterface = \"x\"\n[[policy]]\nname = \"p\"\npaths = [\"dsl\"]\njoin_announced = [\"198.18.2.0/33\"]\n",
                "t.toml:13: policy[1].join_announced[1]: \"198.18.2.0/33\" is not a network; expected ADDRESS/PREFIX such as 198.19.0.0/24, or an address"
            ),
            (
                "[[path]]\nname = \"dsl\"\ninterface = \"x\"\nprobe = { target = \"198.51.100.7:443\" }\n",
                "t.toml:10: path[1].probe: a probe's results are judged by the health checks; add a [health] table (empty for the defaults)"
            ),
            (
                "[health]\n[[path]]\nname = \"a\"\ninterface = \"x\"\n[[path]]\nname = \"dsl\"\ninterface = \"x\"\nprobe = { target = \"198.51.100.7:443\", interval = \"100ms\" }\n",
                "t.toml:14: path[2].probe.interval: string \"100ms\" is not a duration in range; expected seconds (0.4) or a duration such as \"400ms\" or \"10s\", from 1000 ms to 3600 s"
            ),
            (
                "[health]\n[[path]]\nname = \"a\"\ninterface = \"x\"\n[[path]]\nname = \"dsl\"\nsource = \"198.18.1.1\"\nprobe = { target = \"[2001:db8::7]:443\" }\n",
                "t.toml:14: path[2].probe.target: [2001:db8::7]:443 is not of the family of the path's source 198.18.1.1; probe an address of the same family"
            ),
            (
                "[health]\n[[path]]\nname = \"a\"\ninterface = \"x\"\n[[path]]\nname = \"dsl\"\ninterface = \"x\"\nprobe = { target = \"198.51.100.7:443\", every = \"5s\" }\n",
                "t.toml:14: path[2].probe.every: unknown key; expected one of target, interval"
            ),
            (
                "[[path]]\nname = \"dsl\"\ninterface = \"x\"\n[[policy]]\nname = \"default\"\npaths = [\"dsl\"]\n",
                "t.toml:11: policy[1].name: \"default\" is already the name of the implicit default policy; names must be unique"
            ),
            (
                "[[policy]]\nname = \"p\"\npaths = [\"dsl\"]\n",
                "t.toml:7: policy[1]: a policy names paths, but there is no [[path]] table; add the uplinks first"
            ),
            (
                "[[path]]\nname = \"lte\"\ninterface = \"x\"\nquota = { bytes = \"20 GBs\" }\n",
                "t.toml:10: path[1].quota.bytes: \"20 GBs\" is not a size; expected a size such as \"20GB\", \"500MiB\" or a number of bytes (units: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)"
            ),
            (
                "[[path]]\nname = \"lte\"\ninterface = \"x\"\nquota = { period = \"month\" }\n",
                "t.toml:10: path[1].quota.bytes: missing required key; a size such as \"20GB\""
            ),
            (
                "[[path]]\nname = \"lte\"\ninterface = \"x\"\nquota = { bytes = 0 }\n",
                "t.toml:10: path[1].quota.bytes: 0 is out of range; expected a size such as \"20GB\", \"500MiB\" or a number of bytes, greater than 0"
            ),
            (
                "[[path]]\nname = \"lte\"\ninterface = \"x\"\nquota = { bytes = \"1GB\", period = \"year\" }\n",
                "t.toml:10: path[1].quota.period: \"year\" is not a quota period; expected \"day\", \"week\" or \"month\""
            ),
            (
                "[[path]]\nname = \"lte\"\ninterface = \"x\"\nquota = { bytes = \"1GB\", reset_day = 31 }\n",
                "t.toml:10: path[1].quota.reset_day: 31 is out of range; expected 1...28"
            ),
            (
                "[[path]]\nname = \"lte\"\ninterface = \"x\"\nquota = { bytes = \"1GB\", period = \"day\", reset_day = 2 }\n",
                "t.toml:10: path[1].quota.reset_day: a daily quota starts again every midnight; remove reset_day"
            ),
            (
                "[[path]]\nname = \"lte\"\ninterface = \"x\"\nquota = { bytes = \"1GB\", limit = 2 }\n",
                "t.toml:10: path[1].quota.limit: unknown key; expected one of bytes, period, reset_day"
            ),
            (
                "[[path]]\nname = \"a\"\ninterface = \"x\"\n[health]\ndegraded_loss = 5\n",
                "t.toml:11: health.degraded_loss: integer 5 is not a share of lost bytes; expected a number between 0 and 1, such as 0.05"
            ),
            (
                "[[path]]\nname = \"a\"\ninterface = \"x\"\n[health]\ndegraded_rtt = \"fast\"\n",
                "t.toml:11: health.degraded_rtt: string \"fast\" is not a duration in range; expected seconds (0.4) or a duration such as \"400ms\" or \"10s\", from 1 ms to 60 s"
            ),
            (
                "[[path]]\nname = \"a\"\ninterface = \"x\"\n[health]\nrecover_after = 9223372036854775807\n",
                "t.toml:11: health.recover_after: integer 9223372036854775807 is not a duration in range; expected seconds (0.4) or a duration such as \"400ms\" or \"10s\", from 1000 ms to 3600 s"
            ),
            (
                "[health]\nrecover_after = \"10s\"\n",
                "t.toml:7: health: health checks watch the paths, but there is no [[path]] table; add the uplinks first"
            ),
            (
                "[[path]]\nname = \"lte\"\ninterface = \"x\"\nquota = \"1GB\"\n",
                "t.toml:10: path[1].quota: expected a table such as { bytes = \"20GB\", period = \"month\", reset_day = 1 }, found string \"1GB\""
            ),
        ]
    )
    func mistakes(tail: String, expected: String) {
        let errors = configErrors(validForward + "\n" + tail, file: "t.toml")
        #expect(errors.map(\.description) == [expected])
    }

    @Test("quota: sizes in decimal and binary units, a period and its reset day")
    func quotas() throws {
        let text =
            validForward + """

                [[path]]
                name = "lte"
                interface = "x"
                quota = { bytes = "20GB", period = "month", reset_day = 15 }
                [[path]]
                name = "sat"
                interface = "y"
                quota = { bytes = "1.5 GiB", period = "week", reset_day = 7 }
                [[path]]
                name = "tiny"
                interface = "z"
                quota = { bytes = 4096, period = "day" }
                [[path]]
                name = "free"
                interface = "w"

                """
        let paths = try ConfigLoader.parse(text, file: "t.toml").pathPlan.paths
        #expect(paths[0].quota == PathQuota(bytes: 20_000_000_000, period: .month, resetDay: 15))
        #expect(paths[1].quota == PathQuota(bytes: 1_610_612_736, period: .week, resetDay: 7))
        #expect(paths[2].quota == PathQuota(bytes: 4096, period: .day))
        #expect(paths[3].quota == nil)
        let defaults = try ConfigLoader.parse(
            validForward + "\n[[path]]\nname = \"l\"\ninterface = \"x\"\nquota = { bytes = \"1MB\" }\n",
            file: "t.toml"
        )
        #expect(defaults.pathPlan.paths[0].quota == PathQuota(bytes: 1_000_000, period: .month, resetDay: 1))
        #expect(defaults.runtime.stateDirectory == "/var/lib/mptcp-relay")
    }

    @Test("[health]: thresholds as shares and durations, defaults for what is left out, absent means off")
    func health() throws {
        let paths = "\n[[path]]\nname = \"a\"\ninterface = \"x\"\n"
        #expect(try ConfigLoader.parse(validForward + paths, file: "t.toml").pathPlan.health == nil)
        let custom = try ConfigLoader.parse(
            validForward + paths + "[health]\ndegraded_loss = 0.1\ndegraded_rtt = \"250ms\"\nrecover_after = 30\n",
            file: "t.toml"
        )
        #expect(
            custom.pathPlan.health
                == PathHealthSettings(degradedLoss: 0.1, degradedRTTMilliseconds: 250, recoverAfterMilliseconds: 30_000)
        )
        let defaults = try ConfigLoader.parse(validForward + paths + "[health]\n", file: "t.toml")
        #expect(defaults.pathPlan.health == PathHealthSettings())
    }

    @Test("announce: addresses for the kernel path manager's signal endpoints")
    func announce() throws {
        let configuration = try ConfigLoader.parse(
            "[runtime]\nannounce = [\"198.18.2.2\", \"2001:db8:18:2::2\"]\n" + validForward,
            file: "t.toml"
        )
        #expect(configuration.pathPlan.announcements == [IPAddress("198.18.2.2")!, IPAddress("2001:db8:18:2::2")!])
        #expect(configuration.pathPlan.isManaged && configuration.pathPlan.paths.isEmpty)
        #expect(
            configErrors("[runtime]\nannounce = [\"127.0.0.1\"]\n" + validForward, file: "t.toml").map(\.description)
                == [
                    "t.toml:2: runtime.announce[1]: \"127.0.0.1\" is not an address to announce; expected one of this host's unicast addresses"
                ]
        )
        #expect(
            configErrors(
                "[runtime]\npath_manager = \"relay\"\nannounce = [\"198.18.2.2\"]\n" + validForward + "\n"
                    + pathsAndPolicies,
                file: "t.toml"
            ).map(\.description) == [
                "t.toml:3: runtime.announce: announce works through the kernel path manager; it cannot be combined with path_manager = \"relay\""
            ]
        )
    }

    @Test("at most 126 policies: a 127th does not fit the board's 7-bit registry")
    func tooManyPolicies() throws {
        let policies = (1...127).map { "[[policy]]\nname = \"p\($0)\"\npaths = [\"a\"]\n" }.joined()
        let text = validForward + "\n[[path]]\nname = \"a\"\ninterface = \"upa0\"\n" + policies
        #expect(throws: (any Error).self) { try ConfigLoader.parse(text, file: "t.toml") }
        do {
            _ = try ConfigLoader.parse(text, file: "t.toml")
        } catch {
            #expect("\(error)".contains("too many policies: 127; at most 126"), "\(error)")
        }
        let fits =
            validForward + "\n[[path]]\nname = \"a\"\ninterface = \"upa0\"\n"
            + policies.components(
                separatedBy: "[[policy]]"
            ).dropLast().joined(separator: "[[policy]]")
        #expect(try ConfigLoader.parse(fits, file: "t.toml").pathPlan.policies.count == 127)
    }

    @Test("mode and weights: steering per policy; weights in the policy's path order, 1 where not given")
    func steering() throws {
        let text = """
            [[path]]
            name = "cable"
            interface = "upa0"
            [[path]]
            name = "dsl"
            interface = "upb0"
            [[path]]
            name = "fiber"
            interface = "upc0"

            [[policy]]
            name = "bulk"
            paths = ["dsl", "cable", "fiber"]
            mode = "weighted"
            weights = { cable = 3, dsl = 2 }
            [[policy]]
            name = "calls"
            paths = ["cable", "dsl"]
            mode = "active-standby"
            """
        let plan = try ConfigLoader.parse(validForward + "\n" + text, file: "t.toml").pathPlan
        #expect(plan.policies[0].steering == .weighted)
        #expect(plan.policies[0].weights == [2, 3, 1])
        #expect(plan.policies[1].steering == .activeStandby)
        #expect(plan.policies[1].weights == [1, 1])
        #expect(plan.policies[2].steering == .aggregate, "the implicit default aggregates")
    }

    @Test("probe: a path's active check, target and interval (5 s by default), with [health]")
    func probe() throws {
        let text =
            validForward
            + "\n[health]\n[[path]]\nname = \"dsl\"\ninterface = \"lo\"\nprobe = { target = \"198.51.100.7:443\" }\n"
            + "[[path]]\nname = \"lte\"\ninterface = \"lo\"\nprobe = { target = \"198.51.100.8:80\", interval = \"30s\" }\n"
        let plan = try ConfigLoader.parse(text, file: "t.toml").pathPlan
        #expect(plan.paths[0].probe == PathProbe(target: try endpoint("198.51.100.7:443"), intervalMilliseconds: 5000))
        #expect(plan.paths[1].probe?.intervalMilliseconds == 30_000)
        #expect(plan.paths[1].probe?.timeoutMilliseconds == 2000)
    }

    @Test("join_announced: a policy's networks for subflows to announced addresses; none by default")
    func joinAnnounced() throws {
        let text =
            validForward + "\n"
            + pathsAndPolicies.replacingOccurrences(
                of: "congestion = \"bbr\"",
                with: "congestion = \"bbr\"\njoin_announced = [\"198.18.2.0/24\", \"2001:db8:2::/48\"]"
            )
        let plan = try ConfigLoader.parse(text, file: "t.toml").pathPlan
        #expect(plan.policies.map(\.joinAnnounced.count) == [0, 2, 0])
        #expect(plan.policies[1].joinAnnounced.first?.contains(try #require(IPAddress("198.18.2.7"))) == true)
    }

    @Test("join_after: a policy's own join delay, in seconds; policies without it use join_delay")
    func joinAfter() throws {
        let text =
            validForward + "\n"
            + pathsAndPolicies.replacingOccurrences(
                of: "congestion = \"bbr\"",
                with: "congestion = \"bbr\"\njoin_after = 1.5"
            )
        let plan = try ConfigLoader.parse(text, file: "t.toml").pathPlan
        #expect(plan.policies.map(\.joinAfterMilliseconds) == [nil, 1_500, nil])
        let planner = SubflowPlanner(plan: plan)
        var bulk = ManagedConnection(
            token: 1,
            key: ConnectionKey(path: 0, ipv6: false, port: 40000),
            policy: 1,
            remote: try endpoint("198.18.1.2:8443"),
            initial: ManagedSubflow(
                path: 0,
                local: try endpoint("198.18.1.1:40000"),
                remote: try endpoint("198.18.1.2:8443"),
                backup: false
            )
        )
        bulk.establishedAt = 10_000
        #expect(planner.joinsDue(bulk) == 11_500)
        bulk.policy = 0
        #expect(planner.joinsDue(bulk) == 10_000 + plan.joinDelayMilliseconds)
    }

    @Test("join_delay: seconds before a connection's joins, 0.2 by default, 0 to 10")
    func joinDelay() throws {
        let plain = try ConfigLoader.parse(validForward, file: "t.toml")
        #expect(plain.pathPlan.joinDelayMilliseconds == 200)
        let spelled = try ConfigLoader.parse("[runtime]\njoin_delay = 0.05\n" + validForward, file: "t.toml")
        #expect(spelled.pathPlan.joinDelayMilliseconds == 50)
        let none = try ConfigLoader.parse("[runtime]\njoin_delay = 0\n" + validForward, file: "t.toml")
        #expect(none.pathPlan.joinDelayMilliseconds == 0)
        #expect(
            configErrors("[runtime]\njoin_delay = 11\n" + validForward, file: "t.toml").map(\.description) == [
                "t.toml:2: runtime.join_delay: integer 11 is out of range; expected seconds from 0 up to 10"
            ]
        )
        #expect(
            configErrors("[runtime]\njoin_delay = \"soon\"\n" + validForward, file: "t.toml").map(\.description) == [
                "t.toml:2: runtime.join_delay: expected a number of seconds, found string \"soon\""
            ]
        )
    }

    @Test("[metrics]: on at 127.0.0.1:9090 by default, another address or off when spelled out")
    func metrics() throws {
        #expect(try ConfigLoader.parse(validForward, file: "t.toml").metrics.listen == endpoint("127.0.0.1:9090"))
        let other = try ConfigLoader.parse("[metrics]\nlisten = \"0.0.0.0:9100\"\n" + validForward, file: "t.toml")
        #expect(other.metrics.listen == (try endpoint("0.0.0.0:9100")))
        let off = try ConfigLoader.parse("[metrics]\nenabled = false\n" + validForward, file: "t.toml")
        #expect(off.metrics.listen == nil)
        #expect(
            configErrors("[metrics]\nlisten = \"127.0.0.1\"\n" + validForward, file: "t.toml").map(\.description)
                == ["t.toml:2: metrics.listen: \"127.0.0.1\" is not an endpoint; expected ADDRESS:PORT or [IPv6]:PORT"]
        )
    }

    @Test("path_manager: unknown value, and relay without paths")
    func pathManagerErrors() {
        #expect(
            configErrors("[runtime]\npath_manager = \"mptcpd\"\n" + validForward, file: "t.toml").map(\.description)
                == [
                    "t.toml:2: runtime.path_manager: \"mptcpd\" is not a path manager; expected \"relay\", \"kernel\" or \"none\""
                ]
        )
        #expect(
            configErrors("[runtime]\npath_manager = \"relay\"\n" + validForward, file: "t.toml").map(\.description)
                == [
                    "t.toml:2: runtime.path_manager: path_manager = \"relay\" needs at least one [[path]] table to manage"
                ]
        )
    }
}

import ArgumentParser
import ClientAuthentication

/// `mptcp-relay keygen [--name NAME]`: a new client key, with the lines to paste into both configs.
struct KeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Print a new random 256-bit client key and the TOML lines for the converter and the gateway.",
        discussion: """
            The key is base64. Put the [[client]] table into the converter's file and the two listener lines \
            into every forward or transparent listener of the gateway. To keep the key out of the config, \
            write it alone into a file readable only by the relay's user (chmod 600) and name it with \
            key_file instead of key. With --key-only, only the key is printed (for such a file).
            """
    )

    @Option(help: "The client's name, as both sides will know it: 1 to 64 of A-Z a-z 0-9 _ . -")
    var name = "gateway"

    @Flag(help: "Print only the key (for a key_file).")
    var keyOnly = false

    func validate() throws {
        let valid =
            (1...64).contains(name.utf8.count)
            && name.utf8.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"):
                    true
                default:
                    false
                }
            }
        guard valid else { throw ValidationError("--name takes 1 to 64 of A-Z a-z 0-9 _ . -, not \"\(name)\"") }
    }

    func run() {
        let key = ClientKey.random().base64
        if keyOnly {
            print(key)
            return
        }
        print(
            """
            # On the converter (server), once per gateway:
            [[client]]
            name = "\(name)"
            key = "\(key)"

            # On the gateway, in every forward or transparent [[listener]]:
            client = "\(name)"
            key = "\(key)"
            """
        )
    }
}

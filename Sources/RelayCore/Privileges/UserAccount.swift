#if canImport(Glibc)
import Glibc
#endif

/// A user of the system's user database (getpwnam_r, getpwuid_r): its name and ids.
public struct UserAccount: Sendable, Hashable {
    /// The login name.
    public var name: String
    /// The user id.
    public var uid: UInt32
    /// The primary group id.
    public var gid: UInt32

    /// The user named `name`, or nil when there is none.
    public static func named(_ name: String) -> UserAccount? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>? = nil
        var buffer = [CChar](repeating: 0, count: 16384)
        let status = buffer.withUnsafeMutableBufferPointer { storage in
            getpwnam_r(name, &entry, storage.baseAddress!, storage.count, &result)
        }
        guard status == 0, result != nil else { return nil }
        return UserAccount(name: name, uid: entry.pw_uid, gid: entry.pw_gid)
    }

    /// The name of user id `uid`, or nil when the database has none.
    public static func name(of uid: UInt32) -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>? = nil
        var buffer = [CChar](repeating: 0, count: 16384)
        return buffer.withUnsafeMutableBufferPointer { storage -> String? in
            guard getpwuid_r(uid, &entry, storage.baseAddress!, storage.count, &result) == 0, result != nil,
                let name = entry.pw_name
            else { return nil }
            return String(cString: name)
        }
    }

    /// The id of the group named `name`, or nil when there is none.
    public static func groupID(named name: String) -> UInt32? {
        var entry = group()
        var result: UnsafeMutablePointer<group>? = nil
        var buffer = [CChar](repeating: 0, count: 16384)
        let status = buffer.withUnsafeMutableBufferPointer { storage in
            getgrnam_r(name, &entry, storage.baseAddress!, storage.count, &result)
        }
        guard status == 0, result != nil else { return nil }
        return entry.gr_gid
    }
}

/// The rtnetlink message types this library reads and sends (`RTM_*`, include/uapi/linux/rtnetlink.h).
public enum RouteNetlinkMessageType {
    public static let newLink: UInt16 = 16
    public static let deleteLink: UInt16 = 17
    public static let getLink: UInt16 = 18
    public static let newAddress: UInt16 = 20
    public static let deleteAddress: UInt16 = 21
    public static let getAddress: UInt16 = 22
    public static let newRoute: UInt16 = 24
    public static let deleteRoute: UInt16 = 25
    public static let getRoute: UInt16 = 26
}

import Foundation

/// Percent-encoding of a URL path segment or query value: RFC 3986's unreserved ASCII
/// characters kept, every other byte of the UTF-8 encoded (so `:`, `,`, `/`, `&`, `=` and
/// non-ASCII letters too). Links in notifications and console pages are built with it.
public enum PercentEncoding {
    public static func component(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: unreserved) ?? s
    }

    private static let unreserved = CharacterSet(
        charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A raw HTTP/1.1 exchange over a loopback TCP socket: the exact bytes a test writes reach the
/// server (no client normalises paths, framing or headers), for hostile-input tests.
struct RawHTTP: Sendable {
    /// What came back: the status code (0 when the server closed without answering) and the raw text.
    struct Answer {
        var status: Int
        var text: String
        var body: String {
            guard let range = text.range(of: "\r\n\r\n") else { return "" }
            return String(text[range.upperBound...])
        }
        func header(_ name: String) -> String? {
            for line in text.components(separatedBy: "\r\n").dropFirst() {
                if line.isEmpty { break }
                let parts = line.split(separator: ":", maxSplits: 1)
                if parts.count == 2, parts[0].lowercased() == name.lowercased() {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
            return nil
        }
    }

    let port: Int
    var timeout: Double = 10

    /// Opens a connection; the caller writes and reads on the descriptor.
    func connect() throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ProcessFailure("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw ProcessFailure("connect to 127.0.0.1:\(port) failed")
        }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    static func write(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            offset += n
        }
    }

    /// Runs blocking socket work on a thread of its own, never on the concurrency pool: on two
    /// cores a blocked pool thread starves every other test in the process (receivers included).
    static func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    /// Reads until the server closes, a whole response (by `Content-Length`) has arrived, or the timeout.
    static func read(_ fd: Int32) async -> Answer {
        (try? await offPool { readBlocking(fd) }) ?? Answer(status: 0, text: "")
    }

    static func readBlocking(_ fd: Int32) -> Answer {
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
            let text = String(decoding: data, as: UTF8.self)
            if let head = text.range(of: "\r\n\r\n") {
                let answer = Answer(status: 0, text: text)
                if let length = answer.header("content-length").flatMap(Int.init),
                    text.utf8.distance(from: head.upperBound.samePosition(in: text.utf8)!, to: text.utf8.endIndex)
                        >= length
                {
                    break
                }
            }
        }
        let text = String(decoding: data, as: UTF8.self)
        var status = 0
        if text.hasPrefix("HTTP/1.1 "), let code = Int(text.dropFirst(9).prefix(3)) { status = code }
        return Answer(status: status, text: text)
    }

    /// Sends `request` exactly and reads the answer.
    func exchange(_ request: String) async throws -> Answer { try await exchange(Array(request.utf8)) }

    func exchange(_ request: [UInt8]) async throws -> Answer {
        let raw = self
        return try await Self.offPool {
            let fd = try raw.connect()
            defer { close(fd) }
            Self.write(fd, request)
            return Self.readBlocking(fd)
        }
    }

    /// `GET path` with optional extra header lines.
    func get(_ path: String, headers: [String] = []) async throws -> Answer {
        try await exchange(
            "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers.map { $0 + "\r\n" }.joined()
                + "Connection: close\r\n\r\n")
    }
}

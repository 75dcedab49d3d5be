// vigil-load: send prepared HTTP/1.1 request bodies to one server over keep-alive connections and
// report throughput, latency percentiles and the generator's own CPU use, as JSON on stdout.
//
//   vigil-load --port 9750 --bodies FILE [--connections 4] [--rate 2000] [--path /v1/predictions]
//              [--content-type application/x-ndjson] [--header 'Authorization: Bearer …']
//              [--warmup 2] [--items-per-body 1000]
//
// FILE holds the bodies as records `<decimal byte length>\n<bytes>`, one after another. Each body
// is sent once: the first `warmup × connections` untimed, the rest timed, body k on connection
// k mod connections.
// - Without --rate (closed loop): every connection sends its bodies back to back.
// - With --rate R (open loop): body k is due at t0 + k/R; a connection that falls behind sends
//   at once, and latency is counted from the due time, so a stall is not hidden by the requests
//   it delayed (no coordinated omission). `service_ms` is counted from the actual send instead.
import Foundation

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var host = "127.0.0.1"
    var port: UInt16 = 9750
    var path = "/v1/predictions"
    var bodies = ""
    var connections = 4
    var rate: Double?
    var contentType = "application/x-ndjson"
    var headers: [String] = []
    var warmup = 0
    var itemsPerBody = 1

    static func parse(_ arguments: [String]) -> Options {
        var options = Options()
        var iterator = arguments.makeIterator()
        func value(_ flag: String) -> String {
            guard let next = iterator.next() else { fail("\(flag) needs a value") }
            return next
        }
        while let flag = iterator.next() {
            switch flag {
            case "--host": options.host = value(flag)
            case "--port": options.port = UInt16(value(flag)) ?? { fail("--port: not a port") }()
            case "--path": options.path = value(flag)
            case "--bodies": options.bodies = value(flag)
            case "--connections": options.connections = max(1, Int(value(flag)) ?? 1)
            case "--rate":
                guard let rate = Double(value(flag)), rate > 0, rate.isFinite else { fail("--rate must be a positive number") }
                options.rate = rate
            case "--content-type": options.contentType = value(flag)
            case "--header": options.headers.append(value(flag))
            case "--warmup": options.warmup = max(0, Int(value(flag)) ?? 0)
            case "--items-per-body": options.itemsPerBody = max(1, Int(value(flag)) ?? 1)
            default: fail("unknown argument \(flag)")
            }
        }
        if options.bodies.isEmpty { fail("--bodies FILE is required") }
        return options
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("vigil-load: \(message)\n".utf8))
    exit(2)
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func sleepUntil(_ deadline: Double) {
    var ts = timespec(tv_sec: Int(deadline), tv_nsec: Int((deadline - floor(deadline)) * 1e9))
    while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
}

func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// The records of a bodies file, as slices of one buffer.
func readBodies(_ path: String) -> [ArraySlice<UInt8>] {
    guard let data = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    let bytes = [UInt8](data)
    var bodies: [ArraySlice<UInt8>] = []
    var i = 0
    while i < bytes.count {
        var length = 0
        while i < bytes.count, bytes[i] != UInt8(ascii: "\n") {
            guard bytes[i] >= 48, bytes[i] <= 57 else { fail("\(path): bad record length at byte \(i)") }
            length = length * 10 + Int(bytes[i] - 48)
            i += 1
        }
        i += 1
        guard i + length <= bytes.count else { fail("\(path): truncated record") }
        bodies.append(bytes[i..<(i + length)])
        i += length
    }
    return bodies
}

/// One keep-alive HTTP/1.1 connection with blocking IO.
final class Connection {
    private let fd: Int32
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)
    private var start = 0
    private var end = 0

    init(host: String, port: UInt16) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { fail("socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { fail("--host must be an IPv4 address") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { fail("connect \(host):\(port): \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    func send<C: Collection>(_ bytes: C, more: Bool) where C.Element == UInt8 {
        let sent: Bool = bytes.withContiguousStorageIfAvailable { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, more ? Int32(MSG_MORE) : 0)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { return false }
                offset += n
            }
            return true
        } ?? false
        if !sent { fail("send: \(String(cString: strerror(errno)))") }
    }

    /// Reads one response; returns its status, whether it carried `Retry-After`, and its body.
    func readResponse() -> (status: Int, retryAfter: Bool, body: [UInt8]) {
        let headerEnd = readUntilHeaderEnd()
        let head = String(decoding: buffer[start..<headerEnd], as: UTF8.self)
        start = headerEnd + 4
        let lines = head.split(separator: "\r\n")
        guard let statusLine = lines.first, statusLine.hasPrefix("HTTP/1."),
              let status = Int(statusLine.dropFirst(9).prefix(3)) else { fail("bad status line: \(lines.first ?? "")") }
        var contentLength = 0
        var chunked = false
        var retryAfter = false
        for line in lines.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].lowercased()
            let value = parts[1].trimmingCharacters(in: .whitespaces)
            if name == "content-length" { contentLength = Int(value) ?? 0 }
            if name == "retry-after" { retryAfter = true }
            if name == "transfer-encoding", value.lowercased().contains("chunked") { chunked = true }
        }
        if !chunked { return (status, retryAfter, take(contentLength)) }
        var body: [UInt8] = []
        while true {
            let lineEnd = readUntil([13, 10])
            let line = String(decoding: buffer[start..<lineEnd], as: UTF8.self)
            let sizeText = line.split(separator: ";", omittingEmptySubsequences: false).first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                fail("bad chunk size line: \(line)")
            }
            start = lineEnd + 2
            if size == 0 {
                // Trailer fields, if any, then the empty line that ends the message.
                while true {
                    let end = readUntil([13, 10])
                    let empty = end == start
                    start = end + 2
                    if empty { return (status, retryAfter, body) }
                }
            }
            body += take(size)
            _ = take(2)
        }
    }

    private func readUntilHeaderEnd() -> Int { readUntil([13, 10, 13, 10]) }

    private func readUntil(_ marker: [UInt8]) -> Int {
        var searched = 0  // bytes after `start` known not to begin the marker (fill may move `start`)
        while true {
            var i = start + searched
            while i <= end - marker.count {
                if buffer[i] == marker[0], buffer[(i + 1)..<(i + marker.count)].elementsEqual(marker.dropFirst()) { return i }
                i += 1
            }
            searched = max(0, end - marker.count + 1 - start)
            fill()
        }
    }

    private func take(_ count: Int) -> [UInt8] {
        while end - start < count {
            if start > 0, count > buffer.count - start { compact() }
            if count > buffer.count { buffer += [UInt8](repeating: 0, count: count - buffer.count) }
            fill()
        }
        let out = Array(buffer[start..<(start + count)])
        start += count
        return out
    }

    private func compact() {
        if start == end { start = 0; end = 0; return }
        buffer.withUnsafeMutableBufferPointer { raw in
            _ = memmove(raw.baseAddress!, raw.baseAddress! + start, end - start)
        }
        end -= start
        start = 0
    }

    private func fill() {
        if end == buffer.count { compact() }
        if end == buffer.count { buffer += [UInt8](repeating: 0, count: buffer.count) }
        let n = buffer.withUnsafeMutableBufferPointer { raw in
            recv(fd, raw.baseAddress! + end, raw.count - end, 0)
        }
        if n < 0, errno == EINTR { return }
        if n <= 0 { fail("connection closed by the server") }
        end += n
    }
}

/// One connection's share of the work and what it measured.
final class Worker: @unchecked Sendable {
    let connection: Connection
    let requestHead: (Int) -> [UInt8]
    let warmupBodies: [ArraySlice<UInt8>]
    let bodies: [(index: Int, body: ArraySlice<UInt8>)]
    var latencies: [Double] = []
    var serviceTimes: [Double] = []
    var statuses: [Int: Int] = [:]
    var errorSamples: [String] = []
    /// Refusals (4xx/5xx) that said when to retry.
    var refusalsWithRetryAfter = 0
    var start = 0.0
    var rate: Double?

    init(options: Options, warmup: [ArraySlice<UInt8>], bodies: [(Int, ArraySlice<UInt8>)], head: @escaping (Int) -> [UInt8]) {
        connection = Connection(host: options.host, port: options.port)
        warmupBodies = warmup
        self.bodies = bodies
        requestHead = head
        rate = options.rate
        latencies.reserveCapacity(bodies.count)
        serviceTimes.reserveCapacity(bodies.count)
    }

    func exchange(_ body: ArraySlice<UInt8>) -> Int {
        connection.send(requestHead(body.count), more: true)
        connection.send(body, more: false)
        let (status, retryAfter, payload) = connection.readResponse()
        if !(200..<300).contains(status) {
            if retryAfter { refusalsWithRetryAfter += 1 }
            if errorSamples.count < 3 {
                errorSamples.append("HTTP \(status): \(String(decoding: payload.prefix(300), as: UTF8.self))")
            }
        }
        return status
    }

    func warm() { for body in warmupBodies { _ = exchange(body) } }

    func run() {
        for (index, body) in bodies {
            var due = monotonicSeconds()
            if let rate {
                due = start + Double(index) / rate
                sleepUntil(due)
            }
            let sent = monotonicSeconds()
            let status = exchange(body)
            let done = monotonicSeconds()
            statuses[status, default: 0] += 1
            latencies.append(done - (rate == nil ? sent : due))
            serviceTimes.append(done - sent)
        }
    }
}

func runThreads(_ workers: [Worker], _ body: @escaping @Sendable (Worker) -> Void) {
    let group = DispatchGroup()
    for worker in workers {
        group.enter()
        let thread = Thread {
            body(worker)
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    group.wait()
}

func percentile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))]
}

func milliseconds(_ seconds: Double) -> Double { (seconds * 1e5).rounded() / 100 }

let options = Options.parse(Array(CommandLine.arguments.dropFirst()))
let allBodies = readBodies(options.bodies)
let warmupCount = min(allBodies.count, options.warmup * options.connections)
let timed = Array(allBodies[warmupCount...])
guard !timed.isEmpty else { fail("no bodies left to time after the warm-up") }

let extraHeaders = options.headers.map { "\($0)\r\n" }.joined()
let headPrefix = "POST \(options.path) HTTP/1.1\r\nHost: \(options.host):\(options.port)\r\nContent-Type: \(options.contentType)\r\n\(extraHeaders)"
let makeHead: (Int) -> [UInt8] = { length in Array("\(headPrefix)Content-Length: \(length)\r\n\r\n".utf8) }

let workers = (0..<options.connections).map { c in
    Worker(
        options: options,
        warmup: stride(from: c, to: warmupCount, by: options.connections).map { allBodies[$0] },
        bodies: stride(from: c, to: timed.count, by: options.connections).map { ($0, timed[$0]) },
        head: makeHead)
}
runThreads(workers) { $0.warm() }

let cpuBefore = processCPUSeconds()
let t0 = monotonicSeconds() + 0.01
for worker in workers { worker.start = t0 }
if options.rate == nil { sleepUntil(t0) }
runThreads(workers) { $0.run() }
let elapsed = monotonicSeconds() - t0
let cpu = processCPUSeconds() - cpuBefore

let latencies = workers.flatMap(\.latencies).sorted()
let service = workers.flatMap(\.serviceTimes).sorted()
var statuses: [Int: Int] = [:]
for worker in workers { statuses.merge(worker.statuses, uniquingKeysWith: +) }
let ok = statuses.filter { (200..<300).contains($0.key) }.values.reduce(0, +)
let bytes = timed.reduce(0) { $0 + $1.count }

struct Report: Encodable {
    struct Latency: Encodable { let p50: Double, p90: Double, p99: Double, p999: Double, max: Double }
    let connections: Int
    let rate: Double?
    let requests: Int
    let ok: Int
    let statuses: [String: Int]
    let refusalsWithRetryAfter: Int
    let seconds: Double
    let requestsPerSecond: Double
    let itemsPerSecond: Double
    let mibPerSecond: Double
    let latencyMs: Latency
    let serviceMs: Latency
    let generatorCPUSeconds: Double
    let generatorCores: Double
    let errors: [String]

    enum CodingKeys: String, CodingKey {
        case connections, rate, requests, ok, statuses, seconds, errors
        case requestsPerSecond = "requests_per_second", itemsPerSecond = "items_per_second"
        case refusalsWithRetryAfter = "refusals_with_retry_after"
        case mibPerSecond = "mib_per_second", latencyMs = "latency_ms", serviceMs = "service_ms"
        case generatorCPUSeconds = "generator_cpu_seconds", generatorCores = "generator_cores"
    }
}

func latency(_ sorted: [Double]) -> Report.Latency {
    Report.Latency(
        p50: milliseconds(percentile(sorted, 0.5)), p90: milliseconds(percentile(sorted, 0.9)),
        p99: milliseconds(percentile(sorted, 0.99)), p999: milliseconds(percentile(sorted, 0.999)),
        max: milliseconds(sorted.last ?? 0))
}

let report = Report(
    connections: options.connections, rate: options.rate, requests: timed.count, ok: ok,
    statuses: Dictionary(uniqueKeysWithValues: statuses.map { (String($0.key), $0.value) }),
    refusalsWithRetryAfter: workers.reduce(0) { $0 + $1.refusalsWithRetryAfter },
    seconds: (elapsed * 1000).rounded() / 1000,
    requestsPerSecond: (Double(timed.count) / elapsed).rounded(),
    itemsPerSecond: (Double(ok * options.itemsPerBody) / elapsed).rounded(),
    mibPerSecond: (Double(bytes) / elapsed / 1_048_576 * 10).rounded() / 10,
    latencyMs: latency(latencies), serviceMs: latency(service),
    generatorCPUSeconds: (cpu * 1000).rounded() / 1000,
    generatorCores: (cpu / elapsed * 1000).rounded() / 1000,
    errors: workers.flatMap(\.errorSamples).prefix(5).map { $0 })
let encoder = JSONEncoder()
encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
print(String(decoding: try! encoder.encode(report), as: UTF8.self))
exit(ok == timed.count ? 0 : 1)

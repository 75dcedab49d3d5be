import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing
import VigilCore
import VigilEngine

@testable import VigilServer

/// A temporary directory removed when the value goes away.
final class TemporaryDirectory: Sendable {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A clock the test moves by hand (milliseconds since the epoch). Sleeping takes real time, so
/// polling loops (the outbox) still run; the evaluation timer is off where tests drive it.
final class ManualClock: VigilClock {
    private let value: Mutex<Int64>
    init(_ start: Int64) { value = Mutex(start) }
    var now: Int64 { value.withLock { $0 } }
    func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
    func advance(byMillis delta: Int64) { value.withLock { $0 += delta } }
    func set(_ millis: Int64) { value.withLock { $0 = millis } }
}

/// The storage a test's application runs on: the embedded SQLite, or a PostgreSQL database of
/// the tests' private cluster. Suites that must hold on both take `Backend.all` as arguments.
enum Backend: String, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    /// SQLite always; PostgreSQL where it is installed, and always in CI.
    static var all: [Backend] { PostgresCluster.shouldRun ? [.sqlite, .postgres] : [.sqlite] }

    var testDescription: String { rawValue }

    /// A fresh, empty store of this backend (a file in `directory`, or a new database).
    func freshStore(in directory: TemporaryDirectory) throws -> TestStore {
        switch self {
        case .sqlite: .sqlite(directory.path("vigil.db"))
        case .postgres: .postgres(try PostgresCluster.shared().createDatabase())
        }
    }
}

/// Where a test application's data lives; the same value again is a restart on the same data.
enum TestStore: Sendable {
    case sqlite(String)
    case postgres(String)

    static let urlVariable = "VIGIL_TEST_DATABASE_URL"

    /// `config` and `environment` pointed at this store.
    func apply(_ config: inout VigilConfig, _ environment: inout [String: String]) {
        switch self {
        case .sqlite(let path): config.storage.sqlite = path
        case .postgres(let url):
            var pg = PostgresConfig()
            pg.urlEnv = Self.urlVariable
            pg.replicaID = "test"
            pg.poolSize = 2
            config.storage.postgres = pg
            environment[Self.urlVariable] = url
        }
    }
}

/// Runs `body` against the router of an application on the SQLite file `path` (a fresh one in a
/// temporary directory by default), with its window engine, whose evaluations the test drives.
func withEngineApp(
    _ config: VigilConfig = VigilConfig(), clock: ManualClock, path: String? = nil,
    _ body: @Sendable (any TestClientProtocol, WindowEngine) async throws -> Void
) async throws {
    let directory = try TemporaryDirectory()
    try await withEngineApp(config, clock: clock, store: .sqlite(path ?? directory.path("vigil.db")), body)
    withExtendedLifetime(directory) {}
}

/// Runs `body` against the router of an application on `store`, with its window engine.
func withEngineApp(
    _ config: VigilConfig = VigilConfig(), clock: ManualClock, store: TestStore,
    _ body: @Sendable (any TestClientProtocol, WindowEngine) async throws -> Void
) async throws {
    var config = config
    var environment: [String: String] = [:]
    store.apply(&config, &environment)
    var options = AppOptions()
    options.environment = environment
    options.clock = clock
    options.evaluationTimer = false
    let captured = Locked<WindowEngine?>(nil)
    options.onEngine = { engine in captured.withLock { $0 = engine } }
    // The router runs without the services, so nothing closes the store: this does, as a
    // process's exit would (a PostgreSQL store then gives up its connections and leadership).
    let store = Locked<(any VigilStore)?>(nil)
    options.onStore = { opened in store.withLock { $0 = opened } }
    let app = try await buildApplication(config: config, options: options, logger: Logger(label: "test"))
    let engine = try #require(captured.withLock { $0 })
    defer { store.withLock { $0 }?.close() }
    try await app.test(.router) { client in try await body(client, engine) }
}

/// Runs `body` against the router of an application on a fresh SQLite file, without the
/// evaluation timer (a router test never waits on, or races, a real evaluation).
func withApp(
    _ config: VigilConfig = VigilConfig(), environment: [String: String] = [:], clock: ManualClock? = nil,
    _ body: @Sendable (any TestClientProtocol) async throws -> Void
) async throws {
    let directory = try TemporaryDirectory()
    var config = config
    config.storage.sqlite = directory.path("vigil.db")
    var options = AppOptions()
    options.environment = environment
    if let clock { options.clock = clock }
    options.evaluationTimer = false
    let app = try await buildApplication(config: config, options: options, logger: Logger(label: "test"))
    try await app.test(.router) { client in try await body(client) }
    withExtendedLifetime(directory) {}
}

extension TestClientProtocol {
    /// Sends a request and returns status and parsed JSON body (`nil` when the body is not JSON).
    @discardableResult
    func send(_ method: HTTPRequest.Method, _ uri: String, _ body: String? = nil, headers: HTTPFields = [:])
        async throws -> (HTTPResponse.Status, JSONValue?, String)
    {
        try await execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) {
            response in
            let text = String(buffer: response.body)
            return (response.status, try? JSONParser.parse(text), text)
        }
    }
}

extension JSONValue {
    subscript(key: String) -> JSONValue? { objectValue?[key] }
    subscript(index: Int) -> JSONValue? {
        if case .array(let a) = self, a.indices.contains(index) { return a[index] }
        return nil
    }
    var int: Int? { numberValue.map { Int($0) } }
    var array: [JSONValue] {
        if case .array(let a) = self { return a }
        return []
    }
}

/// `promtool` when installed. CI installs it; locally a test that needs it reports its absence.
enum Promtool {
    static var path: String? { ExternalTool.path("promtool") }

    /// Run promtool tests when it is installed, and always in CI (where its absence is a failure).
    static var shouldRun: Bool { ExternalTool.shouldRun("promtool") }

    /// Runs promtool with `arguments` (from `directory`, feeding `input`); exit status and output.
    static func run(_ arguments: [String], input: String? = nil, in directory: URL? = nil) throws -> (Int32, String) {
        guard let path else {
            Issue.record("promtool is not installed (apt-get install prometheus)")
            return (-1, "")
        }
        return try runProcess(path, arguments, input: input, in: directory)
    }

    /// Runs `promtool check metrics` on exposition text; returns exit status and output.
    static func checkMetrics(_ text: String) throws -> (Int32, String) { try run(["check", "metrics"], input: text) }
}

/// Runs an executable to completion; returns its exit status and combined output.
func runProcess(
    _ path: String, _ arguments: [String], input: String? = nil, in directory: URL? = nil,
    environment: [String: String]? = nil
) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = directory }
    if let environment { process.environment = environment }
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    let stdin = Pipe()
    if input != nil { process.standardInput = stdin }
    try process.run()
    if let input {
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
    }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

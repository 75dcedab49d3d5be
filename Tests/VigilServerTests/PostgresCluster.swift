import Foundation
import Synchronization
import Testing

/// A private PostgreSQL cluster for the tests: `initdb` in a temporary directory (as the
/// `postgres` user when the tests run as root, which `initdb` refuses), `pg_ctl` on a free
/// loopback port, stopped by its PID when the test process exits. One cluster per test
/// process; each test takes a database of its own.
final class PostgresCluster: Sendable {
    let directory: String
    let port: Int
    let bin: String

    /// The cluster, started on first use; `nil` (with the reason recorded) when PostgreSQL is
    /// not installed outside CI.
    static func shared() throws -> PostgresCluster {
        try started.withLock { cluster in
            if let cluster { return cluster }
            let fresh = try PostgresCluster()
            cluster = fresh
            return fresh
        }
    }

    private static let started = Mutex<PostgresCluster?>(nil)

    /// The server binaries' directory: Debian puts them under /usr/lib/postgresql/<major>/bin.
    static var binaries: String? {
        let root = "/usr/lib/postgresql"
        let majors = (try? FileManager.default.contentsOfDirectory(atPath: root))?.compactMap(Int.init).sorted() ?? []
        return majors.last.map { "\(root)/\($0)/bin" }
    }

    /// Whether the tests that need PostgreSQL run: when it is installed, and always in CI.
    static var shouldRun: Bool { binaries != nil || ProcessInfo.processInfo.environment["CI"] != nil }

    /// A cluster of the caller's own (a test that restarts PostgreSQL must not take the shared
    /// one from under the others); `stop()` ends it, and the test process's exit at the latest.
    static func privateCluster() throws -> PostgresCluster { try PostgresCluster() }

    /// Stops the server at once (SIGQUIT) and removes its directory.
    func stop() {
        if let pid { kill(pid, SIGQUIT) }
        for _ in 0..<250 where pid.map({ kill($0, 0) == 0 }) == true { usleep(20_000) }
        try? FileManager.default.removeItem(atPath: directory)
        Self.stopDirectories.withLock { $0.removeAll { $0 == directory + "/data" } }
    }

    private init() throws {
        guard let bin = Self.binaries else {
            throw Failure("PostgreSQL is not installed (apt-get install postgresql)")
        }
        self.bin = bin
        directory = "/tmp/vigil-pg-\(getpid())-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if getuid() == 0 {
            let (status, output) = try runProcess("/bin/chown", ["postgres:", directory])
            guard status == 0 else { throw Failure("chown postgres \(directory): \(output)") }
        }
        try Self.run(bin + "/initdb", ["-D", directory + "/data", "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"])
        var lastError = ""
        for _ in 0..<5 {
            let port = try ExternalTool.freePort()
            do {
                try Self.run(
                    bin + "/pg_ctl",
                    [
                        "-D", directory + "/data", "-l", directory + "/log", "-w", "-t", "30", "-o",
                        "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
                        "start",
                    ])
                self.port = port
                Self.stopAtExit(dataDirectory: directory + "/data")
                return
            } catch {
                lastError = "\(error)"
            }
        }
        throw Failure("pg_ctl start failed 5 times: \(lastError)")
    }

    /// Runs a PostgreSQL program, as the `postgres` user when the tests run as root. Output goes
    /// to a file, not a pipe: the server `pg_ctl` starts would hold a pipe open for its lifetime.
    @discardableResult
    static func run(_ program: String, _ arguments: [String]) throws -> String {
        let outputPath = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-pg-out-\(UUID().uuidString)").path
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        // posix_spawn and waitpid, not Foundation's Process: its wait also waits for a descriptor
        // that the daemon pg_ctl leaves behind inherits, so it would never return.
        let argv = (getuid() == 0 ? ["/usr/sbin/runuser", "-u", "postgres", "--", program] : [program]) + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var cArgs = argv.map { strdup($0) } + [nil]
        defer { for a in cArgs { free(a) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
        guard spawned == 0 else { throw Failure("cannot start \(argv[0]): errno \(spawned)") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitCode = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        guard exitCode == 0 else { throw Failure("\(program) \(arguments.joined(separator: " ")): \(text)") }
        return text
    }

    /// The server's PID, from the first line of `postmaster.pid`.
    var pid: Int32? {
        (try? String(contentsOfFile: directory + "/data/postmaster.pid", encoding: .utf8))?
            .split(separator: "\n").first.flatMap { Int32($0) }
    }

    /// Creates an empty database and returns its URL.
    func createDatabase() throws -> String {
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
        try Self.run(bin + "/createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", String(name)])
        return "postgres://postgres@127.0.0.1:\(port)/\(name)?sslmode=disable"
    }

    /// Runs SQL with `psql` on a database (for tests that look behind the store).
    @discardableResult
    func psql(_ url: String, _ sql: String) throws -> String {
        try Self.run(bin + "/psql", [
            "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url.replacingOccurrences(of: "?sslmode=disable", with: ""),
            "-c", sql,
        ])
    }

    /// Stops the server at once (SIGQUIT: immediate shutdown, like a crash) and starts it again
    /// on the same port after `down`.
    func restart(after down: Duration) async throws {
        if let pid { kill(pid, SIGQUIT) }
        while pid.map({ kill($0, 0) == 0 }) == true { try await Task.sleep(for: .milliseconds(20)) }
        try await Task.sleep(for: down)
        try Self.run(
            bin + "/pg_ctl",
            [
                "-D", directory + "/data", "-l", directory + "/log", "-w", "-t", "30", "-o",
                "-p \(port) -k \(directory) -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300", "start",
            ])
    }

    private static func stopAtExit(dataDirectory: String) {
        let first = stopDirectories.withLock { dirs -> Bool in
            defer { dirs.append(dataDirectory) }
            return dirs.isEmpty && !exitHandlerInstalled.exchange(true, ordering: .relaxed)
        }
        guard first else { return }
        atexit {
            for data in PostgresCluster.stopDirectories.withLock({ $0 }) {
                guard let text = try? String(contentsOfFile: data + "/postmaster.pid", encoding: .utf8),
                    let pid = text.split(separator: "\n").first.flatMap({ Int32($0) })
                else { continue }
                kill(pid, SIGQUIT)
                for _ in 0..<100 where kill(pid, 0) == 0 { usleep(20_000) }
                try? FileManager.default.removeItem(atPath: (data as NSString).deletingLastPathComponent)
            }
        }
    }

    private static let stopDirectories = Mutex<[String]>([])
    private static let exitHandlerInstalled = Atomic<Bool>(false)

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }
}

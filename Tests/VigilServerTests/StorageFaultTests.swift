import Foundation
import GRDB
import Testing
import VigilCore

/// Issue 10, defect 10 and the standing storage-fault suite, on the real binary: disk full (a
/// small tmpfs), read-only (the same tmpfs remounted read-only) and locked (a second process'
/// connection holding the write lock). Each gives 503 with `Retry-After` and a reason, no
/// internals; `/readyz` is 503 while writes fail; writes resume by themselves once the condition
/// clears; and every acknowledged prediction is in the database afterwards.
@Suite(
    .serialized,
    .enabled(
        if: getuid() == 0 || ProcessInfo.processInfo.environment["CI"] != nil,
        "needs root to mount a small tmpfs and a loop device (CI runs as root and always runs it)"))
struct StorageFaultTests {
    /// A tmpfs of `megabytes` mounted on a fresh directory, unmounted on deinit.
    final class SmallDisk {
        let path: String
        init(megabytes: Int) throws {
            path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-disk-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try Self.mount(["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", path])
        }
        func remount(_ options: String) throws { try Self.mount(["-o", "remount,\(options)", path]) }
        static func mount(_ arguments: [String]) throws {
            let (status, output) = try runProcess("/bin/mount", arguments)
            guard status == 0 else { throw ProcessFailure("mount \(arguments) failed: \(output)") }
        }
        deinit {
            _ = try? runProcess("/bin/umount", ["-l", path])
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    static let config = "storage: {busy_timeout: 1s, min_free_bytes: 262144}\nevaluation_interval: 1s\n"

    static func start(on disk: SmallDisk, logs: TemporaryDirectory) async throws -> VigilProcess {
        let configPath = logs.path("vigil.yaml")
        try config.write(toFile: configPath, atomically: true, encoding: .utf8)
        return try await VigilProcess.serve(
            db: disk.path + "/vigil.db", logPath: logs.path("vigil.log"), extra: ["--config", configPath])
    }

    static func batch(_ prefix: String, _ n: Int, padding: Int = 0) -> String {
        let pad = String(repeating: "x", count: padding)
        return "["
            + (0..<n).map {
                #"{"id": "\#(prefix)-\#($0)", "model": "m", "prediction": 1, "features": {"a": \#($0), "note": "\#(pad)\#($0)"}}"#
            }.joined(separator: ",") + "]"
    }

    struct Answer {
        var status: Int
        var body: String
        var retryAfter: String?
    }

    static func post(_ port: Int, _ body: String) async throws -> Answer {
        let raw = try await RawHTTP(port: port, timeout: 30).exchange(
            "POST /v1/predictions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
                + body)
        return Answer(status: raw.status, body: raw.body, retryAfter: raw.header("retry-after"))
    }

    static func ready(_ port: Int) async throws -> Answer {
        let raw = try await RawHTTP(port: port, timeout: 30).get("/readyz")
        return Answer(status: raw.status, body: raw.body, retryAfter: raw.header("retry-after"))
    }

    /// Every acknowledged id is stored once, and the file passes `PRAGMA integrity_check`.
    static func verify(_ path: String, acknowledged: Set<String>) throws {
        let db = try DatabaseQueue(path: path)
        let stored = try db.read { try String.fetchAll($0, sql: "SELECT ext_id FROM predictions") }
        #expect(Set(stored).count == stored.count, "duplicated rows")
        let missing = acknowledged.subtracting(stored)
        #expect(missing.isEmpty, "\(missing.count) acknowledged predictions are missing")
        #expect(try db.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
    }

    static func expectUnavailable(_ answer: Answer, _ reason: String, retryAfter: String) {
        #expect(answer.status == 503, "\(answer.status) \(answer.body)")
        #expect(answer.body == #"{"error":"storage unavailable: \#(reason)"}"#, "\(answer.body)")
        #expect(answer.retryAfter == retryAfter)
        #expect(!answer.body.lowercased().contains("sql") && !answer.body.contains("INSERT"))
    }

    @Test func diskFullIs503UntilThereIsRoom() async throws {
        let disk = try SmallDisk(megabytes: 3)
        let logs = try TemporaryDirectory()
        let vigil = try await Self.start(on: disk, logs: logs)
        var acknowledged = Set<String>()
        var refusal: Answer?
        for round in 0..<400 {
            let answer = try await Self.post(vigil.port, Self.batch("r\(round)", 100, padding: 200))
            if answer.status == 200 {
                acknowledged.formUnion((0..<100).map { "r\(round)-\($0)" })
            } else {
                refusal = answer
                break
            }
        }
        let refused = try #require(refusal, "the 2 MiB disk never filled")
        Self.expectUnavailable(refused, "disk_full", retryAfter: "30")
        Self.expectUnavailable(try await Self.ready(vigil.port), "disk_full", retryAfter: "30")
        #expect(vigil.process.isRunning)
        try disk.remount("size=64m")
        #expect(try await Self.ready(vigil.port).status == 200)
        let after = try await Self.post(vigil.port, Self.batch("after", 100))
        #expect(after.status == 200)
        acknowledged.formUnion((0..<100).map { "after-\($0)" })
        #expect(await vigil.terminate() == 0)
        try Self.verify(disk.path + "/vigil.db", acknowledged: acknowledged)
    }

    /// An ext4 image on a loop device, mounted `errors=remount-ro`: an injected filesystem error
    /// turns it read-only under the running process, as a failing disk does.
    final class FailingDisk {
        let image: String
        let path: String
        init() throws {
            let base = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-ext4-\(UUID().uuidString)")
            image = base.path + ".img"
            path = base.path
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try Self.run("/usr/bin/truncate", ["-s", "64M", image])
            try Self.run("/sbin/mkfs.ext4", ["-q", "-F", image])
            try mount()
        }
        func mount() throws { try Self.run("/bin/mount", ["-o", "loop,errors=remount-ro", image, path]) }
        /// The kernel's own emergency read-only remount, with Vigil's files open.
        func fail() throws {
            let (_, source) = try runProcess("/bin/findmnt", ["-n", "-o", "SOURCE", path])
            let device = source.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "/").last.map(String.init) ?? ""
            try "1".write(toFile: "/sys/fs/ext4/\(device)/trigger_fs_error", atomically: false, encoding: .utf8)
        }
        /// Unmounts, repairs and mounts again (what an operator does after such an error).
        func repair() throws {
            try Self.run("/bin/umount", [path])
            _ = try runProcess("/sbin/e2fsck", ["-f", "-y", image])
            try mount()
        }
        static func run(_ tool: String, _ arguments: [String]) throws {
            let (status, output) = try runProcess(tool, arguments)
            guard status == 0 else { throw ProcessFailure("\(tool) \(arguments) failed: \(output)") }
        }
        deinit {
            _ = try? runProcess("/bin/umount", ["-l", path])
            try? FileManager.default.removeItem(atPath: image)
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// The filesystem turns read-only under the running process: 503 `read_only`, `/readyz` 503,
    /// the process stays up and shuts down cleanly, and after a repair every acknowledged
    /// prediction is there and a new process takes writes.
    @Test func aFilesystemTurningReadOnlyIs503() async throws {
        let disk = try FailingDisk()
        let logs = try TemporaryDirectory()
        let db = disk.path + "/vigil.db"
        let configPath = logs.path("vigil.yaml")
        // synchronous: full, so acknowledged commits are on the disk, not only in its page cache,
        // when the filesystem fails (with `normal`, a crash of the disk loses the latest ones).
        try (Self.config + "storage: {synchronous: full, busy_timeout: 1s, min_free_bytes: 262144}\n").replacingOccurrences(
            of: "storage: {busy_timeout: 1s, min_free_bytes: 262144}\n", with: ""
        ).write(toFile: configPath, atomically: true, encoding: .utf8)
        let vigil = try await VigilProcess.serve(db: db, logPath: logs.path("vigil.log"), extra: ["--config", configPath])
        #expect(try await Self.post(vigil.port, Self.batch("before", 100)).status == 200)
        try disk.fail()
        Self.expectUnavailable(try await Self.post(vigil.port, Self.batch("during", 100)), "read_only", retryAfter: "30")
        Self.expectUnavailable(try await Self.ready(vigil.port), "read_only", retryAfter: "30")
        #expect(vigil.process.isRunning)
        _ = await vigil.terminate()
        try disk.repair()
        try Self.verify(db, acknowledged: Set((0..<100).map { "before-\($0)" }))
        let again = try await VigilProcess.serve(db: db, logPath: logs.path("vigil2.log"), extra: ["--config", configPath])
        #expect(try await Self.post(again.port, Self.batch("after", 100)).status == 200)
        #expect(await again.terminate() == 0)
    }

    @Test func aLockHeldByAnotherProcessIs503UntilReleased() async throws {
        let disk = try SmallDisk(megabytes: 64)
        let logs = try TemporaryDirectory()
        let vigil = try await Self.start(on: disk, logs: logs)
        #expect(try await Self.post(vigil.port, Self.batch("before", 100)).status == 200)
        var holding = Configuration()
        holding.allowsUnsafeTransactions = true  // the test holds the lock across accesses on purpose
        let other = try DatabaseQueue(path: disk.path + "/vigil.db", configuration: holding)
        try await other.writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN EXCLUSIVE")
            try db.execute(sql: "INSERT INTO health (id, probed_at) VALUES (7, 0)")
        }
        Self.expectUnavailable(try await Self.post(vigil.port, Self.batch("during", 10)), "database_locked", retryAfter: "1")
        Self.expectUnavailable(try await Self.ready(vigil.port), "database_locked", retryAfter: "1")
        try await other.writeWithoutTransaction { try $0.execute(sql: "COMMIT") }
        #expect(try await Self.ready(vigil.port).status == 200)
        #expect(try await Self.post(vigil.port, Self.batch("after", 100)).status == 200)
        #expect(await vigil.terminate() == 0)
        try Self.verify(
            disk.path + "/vigil.db", acknowledged: Set((0..<100).flatMap { ["before-\($0)", "after-\($0)"] }))
    }
}

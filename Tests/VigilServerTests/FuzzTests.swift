import Foundation
import Testing

/// Schemathesis against the real binary's `/openapi.yaml` (issue 10): every check, a bounded
/// number of cases per operation, a fixed seed. Zero failures means no 5xx, every status and
/// header declared, every response matching its schema, schema-valid requests accepted,
/// schema-violating ones rejected, undeclared methods 405 with `Allow`.
///
/// Needs `python3 -m venv` and PyPI (the script creates `.build/fuzz-venv` from
/// `tools/fuzz/requirements.txt` on first use). Runs when python3 is installed, and always in
/// CI, where its absence is a failure.
@Suite(
    .serialized,
    .enabled(if: ExternalTool.shouldRun("python3"), "python3 is not installed (CI always runs this)"))
struct FuzzTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
        .standardizedFileURL
    static let script = root.appendingPathComponent("tools/fuzz/run-schemathesis.sh").path

    /// Runs the script against `vigil` and returns its exit status and output, off the
    /// cooperative pool (a run takes tens of seconds).
    static func fuzz(_ vigil: VigilProcess, _ extra: [String] = []) async throws -> (Int32, String) {
        guard ExternalTool.path("python3") != nil else {
            Issue.record("python3 is not installed (apt-get install python3 python3-venv)")
            return (-1, "")
        }
        let arguments = [script, "http://127.0.0.1:\(vigil.port)"] + extra
        return try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result { try runProcess("/bin/bash", arguments, in: root) })
            }
        }
    }

    /// Checks a run: exit 0, Schemathesis' all-clear, no 5xx; prints the counts for the record.
    static func expectClean(_ status: Int32, _ output: String, _ vigil: VigilProcess, _ run: String) {
        let summary = output.split(separator: "\n").filter {
            $0.contains(" generated, ") || ($0.hasPrefix("=====") && !$0.contains("SUMMARY")) || $0.contains("Seed:")
        }
        print("fuzz (\(run)): " + summary.map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " | "))
        #expect(status == 0, "schemathesis (\(run)) exited \(status):\n\(output.suffix(20_000))")
        #expect(output.contains("No issues found"), "schemathesis (\(run)) reported issues")
        #expect(!output.contains("Server error"), "a 5xx answer (\(run))")
        let log = (try? String(contentsOfFile: vigil.logPath, encoding: .utf8)) ?? ""
        #expect(!log.contains("unhandled error"), "vigil logged an unhandled error (\(run)):\n\(log.suffix(4000))")
        #expect(vigil.process.isRunning, "vigil died during the fuzz (\(run))")
    }

    @Test func schemathesisFindsNothingWithAuthOff() async throws {
        let directory = try TemporaryDirectory()
        let vigil = try await VigilProcess.serve(db: directory.path("vigil.db"), logPath: directory.path("vigil.log"))
        let (status, output) = try await Self.fuzz(vigil)
        Self.expectClean(status, output, vigil, "auth off")
        #expect(await vigil.terminate() == 0)
    }

    /// With a token configured, sent on every request through Schemathesis' header option.
    @Test func schemathesisFindsNothingWithATokenSent() async throws {
        let directory = try TemporaryDirectory()
        let configPath = directory.path("vigil.yaml")
        try "auth:\n  tokens: [{name: fuzz, env: VIGIL_FUZZ_TOKEN, scopes: [ingest, read]}]\n".write(
            toFile: configPath, atomically: true, encoding: .utf8)
        let vigil = try await VigilProcess.serve(
            db: directory.path("vigil.db"), logPath: directory.path("vigil.log"), extra: ["--config", configPath],
            environment: ["VIGIL_FUZZ_TOKEN": "fuzz-token-0123456789"])
        let (status, output) = try await Self.fuzz(vigil, ["-H", "Authorization: Bearer fuzz-token-0123456789"])
        Self.expectClean(status, output, vigil, "token sent")
        #expect(!output.contains("fuzz-token-0123456789"), "the token was printed")
        #expect(await vigil.terminate() == 0)
    }
}

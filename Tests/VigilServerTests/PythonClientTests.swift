import Foundation
import Testing

/// The Python client (`clients/python`, DESIGN §10) against the real binary: its pytest suite,
/// run by `clients/python/run-tests.sh` (a venv under `.build/client-venv` with pytest, numpy and
/// pandas from PyPI) with `VIGIL_BINARY` set to the binary these tests built. Runs when python3
/// is installed, and always in CI, where its absence is a failure.
@Suite(.enabled(if: ExternalTool.shouldRun("python3"), "python3 is not installed (CI always runs this)"))
struct PythonClientTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..")
        .standardizedFileURL

    @Test func pytestSuitePassesAgainstTheRealBinary() async throws {
        guard ExternalTool.path("python3") != nil else {
            Issue.record("python3 is not installed (apt-get install python3 python3-venv)")
            return
        }
        let environment = ProcessInfo.processInfo.environment.merging(["VIGIL_BINARY": VigilProcess.binary]) { $1 }
        let script = Self.root.appendingPathComponent("clients/python/run-tests.sh").path
        let (status, output) = try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    try runProcess("/bin/bash", [script], in: Self.root, environment: environment)
                })
            }
        }
        let summary = output.split(separator: "\n").last { $0.contains(" passed") || $0.contains(" failed") }
        print("python client: \(summary ?? "no summary")")
        #expect(status == 0, "clients/python/run-tests.sh exited \(status):\n\(output.suffix(20_000))")
        #expect(output.contains(" passed") && !output.contains(" failed") && !output.contains(" skipped"))
    }
}

import Logging
import ServiceLifecycle

/// Evaluates every window each `evaluation_interval` of `clock` (DESIGN §1) and, on graceful
/// shutdown, folds and flushes what is queued so a restart replays nothing.
struct EvaluationService<C: Clock>: Service where C.Duration == Duration {
    let engine: WindowEngine
    let interval: Duration
    let clock: C
    let now: @Sendable () -> Int64
    let logger: Logger

    func run() async throws {
        await engine.evaluate(at: now())
        await cancelWhenGracefulShutdown {
            while true {
                do { try await clock.sleep(for: interval) } catch { return }  // cancelled: shutting down
                await engine.evaluate(at: now())
            }
        }
        await engine.shutdown()
        logger.info("window aggregates flushed")
    }
}

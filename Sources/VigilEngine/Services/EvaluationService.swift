import Logging
import ServiceLifecycle
import VigilCore

/// Evaluates every window each `evaluation_interval` (DESIGN §1) and, on graceful shutdown,
/// folds and flushes what is queued so a restart replays nothing. With `timer: false` (tests
/// that drive evaluations themselves) it only flushes at shutdown.
package struct EvaluationService: Service {
    let evaluator: WindowEvaluator
    let interval: Duration
    let clock: any VigilClock
    let timer: Bool
    let logger: Logger

    package init(evaluator: WindowEvaluator, interval: Duration, clock: any VigilClock, timer: Bool, logger: Logger) {
        self.evaluator = evaluator
        self.interval = interval
        self.clock = clock
        self.timer = timer
        self.logger = logger
    }

    package func run() async throws {
        if timer {
            await evaluator.evaluate(at: clock.now)
            await cancelWhenGracefulShutdown {
                while true {
                    do { try await clock.sleep(for: interval) } catch { return }  // cancelled: shutting down
                    await evaluator.evaluate(at: clock.now)
                }
            }
        } else {
            try? await gracefulShutdown()
        }
        await evaluator.shutdown()
        logger.info("window aggregates flushed")
    }
}

import Logging
import ServiceLifecycle
import VigilCore

/// Owns the store's lifetime: on graceful shutdown, after the server has drained, it lets every
/// queued write commit and closes the database.
struct StoreService: Service {
    let store: any StorageHealth
    let logger: Logger

    func run() async throws {
        try? await gracefulShutdown()
        store.close()
        logger.info("storage closed")
    }
}

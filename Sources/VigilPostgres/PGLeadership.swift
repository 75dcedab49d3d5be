import Dispatch
import Foundation
import Logging
import PostgresNIO
import Synchronization
import VigilCore

/// Leadership by a session-level PostgreSQL advisory lock held on a connection of its own.
/// Every `refresh` asks for the lock again: the session that holds it keeps it (the lock is
/// re-entrant); a session that died (process killed, connection lost) released it, and the
/// next replica to ask takes it — so a leader that dies is replaced within one evaluation
/// interval of the next replica's evaluation, at most two intervals in all.
final class PGLeadership: Leadership {
    static let lockKey: Int64 = 0x5649_4749_4C00_0002
    let replica: String
    private let link: PGLink
    private let logger: Logger
    private let leading = Atomic<Bool>(false)

    init(link: PGLink, replica: String, logger: Logger) {
        self.link = link
        self.replica = replica
        self.logger = logger
    }

    var isLeader: Bool { leading.load(ordering: .relaxed) }

    /// The advisory-lock namespace of replica ids (the two-key form, apart from the leader's key).
    static let identitySpace: Int32 = 0x5649_4701

    /// Takes this replica id's lock for this process's session, so two live processes can never
    /// write under one id (their watermarks would cross); `false` when another process holds it.
    /// A process that has just stopped may still hold it for a moment (its server process exits
    /// after the connection closes), so the claim is tried for up to `patience` seconds.
    func claimIdentity(patience: Double = 3) throws -> Bool {
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(patience * 1e9)
        while true {
            let claimed = try link.query(
                "SELECT pg_try_advisory_lock(\(Self.identitySpace), hashtext(\(replica)))"
            ).first?.bool(0) == true
            if claimed || DispatchTime.now().uptimeNanoseconds >= deadline { return claimed }
            usleep(100_000)
        }
    }

    func refresh() async -> (leading: Bool, gained: Bool) {
        let was = isLeader
        var now = false
        do {
            // The id's lock again first (a session that reconnected lost both): without it, no lead.
            let row = try await link.read(
                """
                SELECT CASE WHEN pg_try_advisory_lock(\(Self.identitySpace), hashtext(\(replica)))
                    THEN pg_try_advisory_lock(\(Self.lockKey)) END
                """
            ).first
            switch try row?.bool(0) {
            case true?: now = true
            case false?: now = false
            case nil:
                logger.error(
                    "another live vigil process holds this replica id; give every replica its own (storage.postgres.replica_id_env)",
                    metadata: ["replica": "\(replica)"])
            }
        } catch {
            logger.warning("leadership check failed; not leading until it succeeds", metadata: ["error": "\(PGFault.describe(error))"])
        }
        leading.store(now, ordering: .relaxed)
        if now != was {
            logger.notice(now ? "this replica now leads (alerts, outbox, references)" : "this replica no longer leads", metadata: ["replica": "\(replica)"])
        }
        return (now, now && !was)
    }

    func close() { link.close(releasingAdvisoryLocks: true) }
}

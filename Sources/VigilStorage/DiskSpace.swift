#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The free space and mount state of the filesystem holding the database.
struct DiskSpace: Sendable, Equatable {
    /// Bytes an unprivileged process may still write.
    var availableBytes: Int64
    /// Whether the filesystem is mounted read-only (as after an emergency remount).
    var readOnly: Bool

    /// The filesystem of the directory `path` lives in; `nil` when it cannot be read.
    static func of(directory path: String) -> DiskSpace? {
        var stats = statvfs()
        guard statvfs(path, &stats) == 0 else { return nil }
        let available = Int64(stats.f_bavail).multipliedReportingOverflow(by: Int64(stats.f_frsize))
        return DiskSpace(
            availableBytes: available.overflow ? .max : available.partialValue,
            readOnly: (stats.f_flag & UInt(ST_RDONLY)) != 0)
    }

    /// Whether the filesystem refuses new files with `EROFS`: an emergency read-only remount
    /// (ext4 `errors=remount-ro`) shows neither in `statvfs` nor in `access`, only on writing.
    static func refusesWrites(directory path: String) -> Bool {
        let probe = path + "/.vigil-write-probe"
        let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if fd < 0 { return errno == EROFS }
        close(fd)
        unlink(probe)
        return false
    }

    /// The directory of a database path (`.` for a bare file name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}

// swift-tools-version:6.1
// A small, low-CPU HTTP/1.1 load generator for Vigil's benchmarks (issue 13): blocking keep-alive
// sockets, one thread per connection, request bytes prepared before the clock starts. No
// dependencies, so it builds in seconds and never competes with the server's build.
import PackageDescription

let package = Package(
    name: "vigil-load",
    targets: [.executableTarget(name: "vigil-load")]
)

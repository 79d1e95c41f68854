import Admission
import CAllocationCounter
import EventLoop
#if canImport(Glibc)
import Glibc
#endif

// Microbenchmarks of the hot paths, without a network: CPU nanoseconds and heap allocations per
// operation, printed as a Markdown table.
//
//   MicroBench SERVICE-ACCOUNTS-FILE NAME=REVIEW-FILE...
//
// Each review (e.g. the 4.8 KB Deployment pod and a 1 MB pod, written by `loadgen corpus`) is
// reviewed as the server does: decode, ServiceAccount lookup in the static source, patch and
// encode. The HTTP parser parses the request head kube-apiserver sends.

/// CPU time of the calling thread: the machine is shared, so wall time would count other
/// processes' turns.
func threadCPUNanoseconds() -> Double {
    var time = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
    return Double(time.tv_sec) * 1e9 + Double(time.tv_nsec)
}

/// One measured operation: the best of `rounds` timed runs of `iterations` calls, then one more
/// run counting allocations.
struct Measurement {
    let name: String
    let bytes: Int
    let nanoseconds: Double
    let allocations: Double

    /// Runs on the caller's thread, as does `body` (`nonisolated(nonsending)`): the thread's CPU
    /// clock and allocation counter see all of the work.
    nonisolated(nonsending) init(
        _ name: String, bytes: Int, iterations: Int, rounds: Int = 7, _ body: nonisolated(nonsending) () async throws -> Int
    ) async rethrows {
        try await self.init(name, bytes: bytes, iterations: iterations, rounds: rounds) { (count: Int) async throws -> Int in
            var sink = 0
            for _ in 0..<count { sink &+= try await body() }
            return sink
        }
    }

    /// The same for a synchronous operation, called in a plain loop: no async call per
    /// operation, so the row is the operation's cost alone.
    nonisolated(nonsending) init(_ name: String, bytes: Int, iterations: Int, rounds: Int = 7, synchronous body: () throws -> Int) async rethrows {
        try await self.init(name, bytes: bytes, iterations: iterations, rounds: rounds) { (count: Int) throws -> Int in
            var sink = 0
            for _ in 0..<count { sink &+= try body() }
            return sink
        }
    }

    /// Times `runs(count)`, which performs the operation `count` times and returns what it
    /// produced: a warm-up, the best of `rounds` runs, then one run counting allocations.
    private nonisolated(nonsending) init(
        _ name: String, bytes: Int, iterations: Int, rounds: Int, runs: nonisolated(nonsending) (Int) async throws -> Int
    ) async rethrows {
        var sink = try await runs(max(1, iterations / 10))
        var best = Double.infinity
        for _ in 0..<rounds {
            let start = threadCPUNanoseconds()
            sink &+= try await runs(iterations)
            best = min(best, (threadCPUNanoseconds() - start) / Double(iterations))
        }
        CAllocationCounter_start()
        sink &+= try await runs(iterations)
        let counted = CAllocationCounter_stop()
        precondition(sink != 0, "\(name): the operation produced nothing")
        self.name = name
        self.bytes = bytes
        nanoseconds = best
        allocations = Double(counted) / Double(iterations)
    }

    var row: String {
        let perKiB = bytes > 0 ? String(Int((nanoseconds / (Double(bytes) / 1024)).rounded())) : ""
        let allocationText = allocations == allocations.rounded() ? String(Int(allocations)) : String(format: "%.2f", allocations)
        return "| \(name) | \(bytes) | \(Int(nanoseconds.rounded())) | \(perKiB) | \(allocationText) |"
    }
}

/// Prints `message` to standard error and exits with `code`.
func fail(_ message: String, code: Int32 = 2) -> Never {
    var line = "MicroBench: \(message)\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    exit(code)
}

/// Reads a whole file; exits with a message when it cannot.
func readFile(_ path: String) -> [UInt8] {
    guard let file = fopen(path, "rb") else { fail("cannot read \(path): \(String(cString: strerror(errno)))") }
    defer { fclose(file) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        if count == 0 { break }
        bytes += chunk[0..<count]
    }
    return bytes
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count >= 2 else { fail("usage: MicroBench SERVICE-ACCOUNTS-FILE NAME=REVIEW-FILE...") }
let configuration = PatchConfig()
let accounts: StaticServiceAccountSource
do {
    accounts = try StaticServiceAccountSource(contentsOfFile: arguments[0])
} catch {
    fail("\(error)")
}
let handler = AdmissionHandler(configuration: configuration, serviceAccounts: accounts, failClosed: false)

var results: [Measurement] = []
for argument in arguments.dropFirst() {
    let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
    guard parts.count == 2 else { fail("expected NAME=REVIEW-FILE, got \(argument)") }
    let (name, body) = (parts[0], readFile(parts[1]))
    let outcome = await handler.review(body)
    guard case .mutated = outcome.result else {
        fail("\(name) was not mutated (\(outcome.result)); its ServiceAccount must be in the file", code: 1)
    }
    // About 0.2 s of work per timed run whatever the size.
    let iterations = max(20, 40_000_000 / max(body.count, 1000))
    results.append(try await Measurement("\(name): decode", bytes: body.count, iterations: iterations) {
        let request = try body.withUnsafeBytes { try AdmissionRequest.decode($0, configuration: configuration) }
        return request.pod?.containers.count ?? 0
    })
    let request = try body.withUnsafeBytes { try AdmissionRequest.decode($0, configuration: configuration) }
    let pod = request.pod!
    let account = accounts.accounts[ServiceAccountKey(namespace: request.podNamespace!, name: pod.serviceAccountName)]
    results.append(await Measurement("\(name): patch + encode", bytes: body.count, iterations: iterations) {
        handler.mutate(request, pod: pod, serviceAccount: account).body.count
    })
    results.append(await Measurement("\(name): decode + patch + encode (AdmissionHandler.review)", bytes: body.count, iterations: iterations) {
        await handler.review(body).body.count
    })
}

let head = Array((
    "POST /mutate?timeout=10s HTTP/1.1\r\nHost: irsa-webhook.irsa-system.svc:443\r\n"
    + "User-Agent: kube-apiserver-admission\r\nContent-Length: 4852\r\nAccept: application/json, */*\r\n"
    + "Content-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\n").utf8)
var parser = HTTPRequestParser()
results.append(try await Measurement("HTTP request head (kube-apiserver's 7 fields): parse", bytes: head.count, iterations: 400_000) {
    try head.withUnsafeBytes { buffer throws(HTTPParseError) in try parser.parseHead(buffer)?.consumed ?? 0 }
})

// The watch mode's hit path: 100,000 ServiceAccounts (every tenth annotated) in one store, looked
// up through `StoreServiceAccountSource` as each event loop's admission handler does.
var table = ServiceAccountStore.Table()
var listed: [ServiceAccount] = []
for index in 0..<100_000 {
    let annotations = index % 10 == 0 ? ["vultr.com/role-arn": "arn:aws:iam::123456789012:role/app-\(index)"] : [:]
    listed.append(ServiceAccount(namespace: "team-\(index % 1000)", name: "app-\(index)", annotations: annotations, resourceVersion: UInt64(index + 1)))
    table.add(listed[index])
}
let dictionarySource = StaticServiceAccountSource(listed)
let store = ServiceAccountStore()
store.replace(with: table, resourceVersion: 100_001)
store.setWatching(true)
let storeSource = StoreServiceAccountSource(store: store, fetcher: ServiceAccountFetchCoalescer(upstream: accounts))
var generator = SystemRandomNumberGenerator()
let storeKeys = (0..<4096).map { _ in
    let index = Int.random(in: 0..<100_000, using: &generator)
    return ServiceAccountKey(namespace: "team-\(index % 1000)", name: "app-\(index)")
}
var nextKey = 0
// The hit as the admission path takes it (`storedServiceAccount`, synchronous): the figure of
// issue 11's goal.
results.append(await Measurement("ServiceAccount store hit, 100,000 accounts", bytes: 0, iterations: 2_000_000, synchronous: {
    nextKey = (nextKey &+ 1) & 4095
    return storeSource.storedServiceAccount(storeKeys[nextKey])!!.annotations.count &+ 1
}))
// One key over and over: its record stays in the cache, so this is the fixed cost of a hit
// (hash, lock, probe, the answer's copy); the row above adds the cache misses.
let hotKey = storeKeys[0]
results.append(await Measurement("ServiceAccount store hit, one account over and over (the fixed cost of a hit)", bytes: 0, iterations: 2_000_000, synchronous: {
    storeSource.storedServiceAccount(hotKey)!!.annotations.count &+ 1
}))
// Through the async lookup a miss takes, for comparison: an async call per operation.
results.append(try await Measurement("ServiceAccount store hit, 100,000 accounts, through the async `serviceAccount`", bytes: 0, iterations: 2_000_000) {
    nextKey = (nextKey &+ 1) & 4095
    return try await storeSource.serviceAccount(storeKeys[nextKey])!.annotations.count &+ 1
})
// The same keys in a plain dictionary (no lock, no freshness check): what hashing two strings
// (SipHash) and probing a 100,000-entry `Dictionary` costs by itself.
results.append(await Measurement("same keys in a plain dictionary (StaticServiceAccountSource), for comparison", bytes: 0, iterations: 2_000_000, synchronous: {
    nextKey = (nextKey &+ 1) & 4095
    return dictionarySource.storedServiceAccount(storeKeys[nextKey])!!.annotations.count &+ 1
}))

print("| operation | bytes | ns/op | ns/KiB | allocations/op |")
print("|---|---:|---:|---:|---:|")
for result in results { print(result.row) }

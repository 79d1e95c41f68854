import Foundation
import TestKubernetesAPI

/// A real irsa-webhook process in watch mode (`--serviceaccount-source watch`) against a
/// `FakeKubernetesAPI` that serves LIST and WATCH, with a short `--watch-timeout` so that dead
/// streams are detected within seconds.
final class WatchModeWebhook {
    let api: FakeKubernetesAPI
    let webhook: WebhookProcess
    let port: Int
    let caFile: String
    private let directory: URL

    /// Starts the webhook; `prepare` runs on the API first (accounts, faults). With `waitForSync`,
    /// returns once the first LIST has completed (the "Kubernetes API reachable" log line).
    init(
        api: FakeKubernetesAPI? = nil, arguments: [String] = [], watchTimeout: String = "2s", waitForSync: Bool = true
    ) async throws {
        directory = try TestTools.temporaryDirectory()
        self.api = try api ?? FakeKubernetesAPI()
        let tls = try await TestTools.makeCertificate(in: directory, name: "tls")
        caFile = tls.certificate
        let kubeconfig = try TestTools.write(self.api.kubeconfig, to: "kubeconfig", in: directory)
        webhook = try WebhookProcess([
            "--host", "127.0.0.1", "--port", "0", "--metrics-port", "0", "--threads", "2", "--log-level", "debug",
            "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key, "--kubeconfig", kubeconfig,
            "--serviceaccount-source", "watch", "--watch-timeout", watchTimeout,
        ] + arguments)
        port = try await webhook.listeningPort()
        if waitForSync {
            guard try await webhook.waitForOutput(containing: "Kubernetes API reachable", timeout: .seconds(60)) else {
                throw TestToolError("the webhook never completed its first LIST:\n\(webhook.output.suffix(3000))")
            }
        }
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    /// The role `account` is annotated with in these tests.
    static func role(_ tag: String) -> String { "arn:aws:iam::111122223333:role/\(tag)" }

    /// One admission of a pod of `account` in `namespace`: the role in its patch, nil when unmutated.
    func admittedRole(_ account: String, namespace: String = "default") async throws -> String? {
        let answers = try await AdmissionBatch.send(port: port, caFile: caFile, connections: [[account]], namespace: namespace)
        guard let answer = answers.first, answer.status == 200 else { throw TestToolError("admission failed: \(answers)") }
        return Self.role(in: answer.patch)
    }

    /// The role ARN in a JSON Patch text, nil for none.
    static func role(in patch: String?) -> String? {
        guard let patch, let start = patch.range(of: "arn:aws:iam::") else { return nil }
        return String(patch[start.lowerBound...].prefix { $0 != "\"" })
    }

    /// Admits pods of `account` one after another on one connection until the patch's role is
    /// `expected` (nil: no patch), for at most `timeout`; returns the wall-clock time
    /// (`Date().timeIntervalSince1970`) of the first matching answer, nil if none matched.
    /// The poller starts before `change` runs, so the delay measured excludes its start-up.
    func firstAdmission(
        of account: String, showing expected: String?, timeout: Duration = .seconds(1), after change: () throws -> Void
    ) async throws -> Double? {
        let template = TestTools.root.appendingPathComponent("deploy/dev/review.json").path
        let ready = directory.appendingPathComponent("poller-\(UUID().uuidString)").path
        let arguments = [String(port), caFile, template, account, expected ?? "", ready, String(Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18)]
        async let matchedAt = Self.poll(arguments, timeout: timeout + .seconds(30))
        let started = ContinuousClock.now
        while !FileManager.default.fileExists(atPath: ready), ContinuousClock.now - started < .seconds(20) {
            try await Task.sleep(for: .milliseconds(10))
        }
        try change()
        return try await matchedAt
    }

    private static func poll(_ arguments: [String], timeout: Duration) async throws -> Double? {
        try await TestTools.python(pollerScript, arguments, timeout: timeout)["matchedAt"] as? Double
    }

    /// Polls admissions until the patch's role matches (see `firstAdmission`).
    static let pollerScript = #"""
    import base64, copy, http.client, json, ssl, sys, time, uuid
    port, cafile, template_path, account, expected, ready, timeout = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], float(sys.argv[7])
    with open(template_path) as f:
        template = json.load(f)
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(cafile=cafile), timeout=10)
    def role():
        body = copy.deepcopy(template)
        body["request"]["uid"] = str(uuid.uuid4())
        body["request"]["object"]["spec"]["serviceAccountName"] = account
        body["request"]["object"]["spec"]["serviceAccount"] = account
        connection.request("POST", "/mutate", body=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        answer = json.loads(connection.getresponse().read())["response"]
        patch = base64.b64decode(answer["patch"]).decode() if "patch" in answer else ""
        start = patch.find("arn:aws:iam::")
        return "" if start < 0 else patch[start:patch.index('"', start)]
    role()
    open(ready, "w").close()
    deadline = time.time() + timeout + 0.2
    matched, admissions = None, 0
    while time.time() < deadline and matched is None:
        found = role()
        admissions += 1
        if found == expected:
            matched = time.time()
    print(json.dumps({"matchedAt": matched, "admissions": admissions}))
    """#

    /// The webhook's metrics (Prometheus text).
    func metrics() async throws -> String {
        try await TestTools.metrics(port: port, caFile: caFile)
    }

    /// The value of one metric series, 0 when absent.
    func metric(_ series: String) async throws -> Double {
        TestTools.metric(series, in: try await metrics()) ?? 0
    }

    /// Waits until `series` reaches at least `value`, for at most `timeout`; returns whether it did.
    func waitForMetric(_ series: String, atLeast value: Double, timeout: Duration = .seconds(20)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await metric(series) >= value { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }

    /// Admits `account` until its role is `expected`, for at most `timeout`; returns whether it was.
    func waitForRole(_ account: String, _ expected: String?, timeout: Duration = .seconds(20)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await admittedRole(account) == expected { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        return false
    }
}

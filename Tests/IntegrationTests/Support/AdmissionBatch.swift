import Foundation

/// Concurrent admissions sent by a Python client: one keep-alive TLS connection per thread,
/// opened before the first request; all threads start together, and each times every request
/// from the moment it is written to the moment the whole answer is read.
enum AdmissionBatch {
    /// One admission as the client saw it.
    struct Answer: CustomStringConvertible {
        /// The pod's ServiceAccount (in the batch's namespace).
        let account: String
        /// From writing the request to reading the whole answer.
        let latency: Duration
        /// The HTTP status, 0 when no answer came (see `error`).
        let status: Int
        /// True when the answer echoed the request's uid.
        let uidEchoed: Bool
        /// `response.allowed`.
        let allowed: Bool?
        /// `response.warnings`.
        let warnings: [String]
        /// The decoded JSON Patch, nil when none.
        let patch: String?
        /// `response.status.message` of a denial.
        let denial: String?
        /// Why no usable answer came.
        let error: String?

        var description: String {
            "\(account) \(latency) HTTP \(status) allowed=\(allowed.map(String.init) ?? "-") warnings=\(warnings) "
                + "patch=\(patch == nil ? "no" : "yes") denial=\(denial ?? "-") error=\(error ?? "-")"
        }
    }

    static let script = #"""
    import base64, copy, http.client, json, ssl, sys, threading, time, uuid
    port, cafile, template_path, namespace, plan = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
    with open(template_path) as f:
        template = json.load(f)
    context = ssl.create_default_context(cafile=cafile)
    barrier = threading.Barrier(len(plan), timeout=30)
    results = [[] for _ in plan]

    def connect():
        connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
        connection.connect()
        return connection

    def review(account):
        body = copy.deepcopy(template)
        uid = str(uuid.uuid4())
        body["request"]["uid"] = uid
        body["request"]["namespace"] = namespace
        body["request"]["object"]["metadata"]["namespace"] = namespace
        body["request"]["object"]["spec"]["serviceAccountName"] = account
        body["request"]["object"]["spec"]["serviceAccount"] = account
        return uid, json.dumps(body).encode()

    def run(index, accounts):
        connection = None
        try:
            connection = connect()
        except Exception:
            pass
        barrier.wait()
        for account in accounts:
            uid, data = review(account)
            entry = {"account": account}
            start = time.perf_counter()
            try:
                if connection is None:
                    connection = connect()
                connection.request("POST", "/mutate", body=data, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                raw = response.read()
                entry["latency"] = time.perf_counter() - start
                entry["status"] = response.status
                if response.status == 200:
                    answer = json.loads(raw)["response"]
                    entry["uidEchoed"] = answer.get("uid") == uid
                    entry["allowed"] = answer.get("allowed")
                    entry["warnings"] = answer.get("warnings") or []
                    if "patch" in answer:
                        entry["patch"] = base64.b64decode(answer["patch"]).decode()
                    if "status" in answer:
                        entry["denial"] = answer["status"].get("message", "")
                else:
                    entry["error"] = raw.decode(errors="replace")[:300]
            except Exception as error:
                entry["latency"] = time.perf_counter() - start
                entry["status"] = 0
                entry["error"] = repr(error)
                if connection is not None:
                    connection.close()
                connection = None
            results[index].append(entry)

    threads = [threading.Thread(target=run, args=(index, accounts)) for index, accounts in enumerate(plan)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"answers": [entry for result in results for entry in result]}))
    """#

    /// Sends, over each of `connections.count` connections, that connection's accounts one after
    /// the other (pods in `namespace` made from deploy/dev/review.json); all connections start at
    /// once. The whole batch is bounded by `timeout`.
    static func send(
        port: Int, caFile: String, connections: [[String]], namespace: String = "default", timeout: Duration = .seconds(90)
    ) async throws -> [Answer] {
        let plan = String(decoding: try JSONSerialization.data(withJSONObject: connections), as: UTF8.self)
        let template = TestTools.root.appendingPathComponent("deploy/dev/review.json").path
        let output = try await TestTools.python(script, [String(port), caFile, template, namespace, plan], timeout: timeout)
        guard let entries = output["answers"] as? [[String: Any]] else { throw TestToolError("admission batch: no answers in \(output)") }
        return entries.map { entry in
            Answer(
                account: entry["account"] as? String ?? "",
                latency: .nanoseconds(Int64(((entry["latency"] as? Double) ?? 0) * 1e9)),
                status: entry["status"] as? Int ?? 0,
                uidEchoed: entry["uidEchoed"] as? Bool ?? false,
                allowed: entry["allowed"] as? Bool,
                warnings: entry["warnings"] as? [String] ?? [],
                patch: entry["patch"] as? String,
                denial: entry["denial"] as? String,
                error: entry["error"] as? String)
        }
    }
}

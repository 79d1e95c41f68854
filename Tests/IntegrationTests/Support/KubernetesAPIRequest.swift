import Foundation

/// One request to a fake Kubernetes API with curl (trusting its CA, with its bearer token), for
/// the fake's own protocol tests: the status, the head's fields and the body as seen on the wire.
struct KubernetesAPIRequest {
    var status: Int
    /// Header fields, names in lower case.
    var fields: [String: String]
    var body: String

    /// The body as a JSON object.
    var json: [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
    }

    /// GETs `path` (with its query) from 127.0.0.1:`port`, trusting `caFile`, with `token` as the
    /// bearer token when given.
    static func get(_ path: String, port: Int, caFile: String, token: String?, timeout: Duration = .seconds(10)) async throws
        -> KubernetesAPIRequest
    {
        try await send("GET", path, port: port, caFile: caFile, token: token, timeout: timeout)
    }

    /// Sends `method` to `path` as `get` does, with `body` (of `contentType`) when given.
    static func send(
        _ method: String, _ path: String, body: String? = nil, contentType: String = "application/json", port: Int, caFile: String,
        token: String?, timeout: Duration = .seconds(10)
    ) async throws -> KubernetesAPIRequest {
        var command = ["curl", "-sS", "-i", "-X", method, "--max-time", "\(timeout.components.seconds)", "--cacert", caFile]
        if let token { command += ["-H", "Authorization: Bearer \(token)"] }
        if let body { command += ["-H", "Content-Type: \(contentType)", "--data-binary", body] }
        command.append("https://127.0.0.1:\(port)\(path)")
        let result = try await TestTools.run(command, timeout: timeout + .seconds(5))
        guard result.status == 0, let split = result.stdout.range(of: "\r\n\r\n") else {
            throw TestToolError("curl \(path) failed (exit \(result.status)): \(result.stderr)")
        }
        let lines = result.stdout[..<split.lowerBound].components(separatedBy: "\r\n")
        guard let status = lines.first.flatMap({ Int($0.split(separator: " ")[1]) }) else {
            throw TestToolError("curl \(path): no status line in \(lines)")
        }
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return KubernetesAPIRequest(status: status, fields: fields, body: String(result.stdout[split.upperBound...]))
    }
}

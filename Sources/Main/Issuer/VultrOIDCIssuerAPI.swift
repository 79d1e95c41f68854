import EventLoop

/// Vultr's `POST /v2/oidc/issuer`, authenticated with an API key as a bearer token. The key is
/// only ever put in the request's Authorization field: never in an error, a log or the output.
struct VultrOIDCIssuerAPI {
    /// Why a registration failed, in one line that says what to do.
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The API's base URL, e.g. `https://api.vultr.com`.
    let baseURL: String
    let apiKey: String
    let loop: EventLoop
    let timeout: Duration

    /// Registers `body`; returns the API's answer (its JSON body as text).
    func register(_ body: OIDCIssuerBody) async throws(Failure) -> String {
        let url = baseURL + "/v2/oidc/issuer"
        var request: HTTPClientRequest
        do {
            request = try HTTPClientRequest(method: .POST, url: url, body: Array(body.json.utf8))
        } catch {
            throw Failure(description: "--vultr-api-url: \(error)")
        }
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "irsa-webhook/\(IRSAWebhook.version)")
        request.headers.add(name: "Authorization", value: "Bearer " + apiKey)
        let response: HTTPClientResponse
        do {
            response = try await send(request)
        } catch {
            throw Failure(description: "cannot reach the Vultr API at \(url): \(error)")
        }
        let answer = String(decoding: response.body, as: UTF8.self)
        let status = response.status.code
        switch status {
        case 200..<300:
            return answer
        case 401:
            throw Failure(description: "the Vultr API refused VULTR_API_KEY (401 Unauthorized): check the key, and that "
                + "its access control allows this machine's address")
        default:
            let message = ErrorBodyMessage.of(response.body)
            throw Failure(description: "the Vultr API answered \(status)" + (message.isEmpty ? "" : ": \(message)"))
        }
    }

    private func send(_ request: HTTPClientRequest) async throws -> HTTPClientResponse {
        let client = HTTPClient(loop: loop, tlsContext: try TLSContext(configuration: .client()))
        let deadline = Deadline.after(timeout)
        return try await withTaskExecutorPreference(loop) {
            defer { client.closeIdleConnections() }
            return try await client.execute(request, deadline: deadline)
        }
    }
}

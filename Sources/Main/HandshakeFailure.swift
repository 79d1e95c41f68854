import EventLoop

/// Why a TLS handshake failed, as an operator acts on it: `reason` is the label of
/// `irsa_tls_handshake_failures_total`, `explanation` OpenSSL's reason in plain words with what
/// to check. A wrong `caBundle` shows up here first: the API server fails open, so the pod runs
/// without its role and nothing else in the cluster says why.
struct HandshakeFailure: Sendable {
    /// The label values, a fixed set so every series exists from the start.
    enum Reason: String, CaseIterable, Sendable {
        case certificateRejected = "certificate_rejected"
        case clientCertificateMissing = "client_certificate_missing"
        case clientCertificateInvalid = "client_certificate_invalid"
        case protocolMismatch = "protocol_mismatch"
        case notTLS = "not_tls"
        case timeout
        case closed
        case other
    }

    let reason: Reason
    let explanation: String

    init(_ error: any Error) {
        if let error = error as? IOError {
            switch error.code {
            case .timedOut:
                self.init(.timeout, "the client did not finish the handshake within --handshake-timeout")
            default:
                self.init(.closed, "the connection ended during the handshake (\(error))")
            }
            return
        }
        guard let error = error as? TLSError else {
            self.init(.other, "\(error)")
            return
        }
        let openSSL = error.details.joined(separator: "; ")
        func mentions(_ text: String) -> Bool { openSSL.contains(text) }
        switch error.code {
        case .certificateRejectedByPeer:
            let alert = Self.alerts.first { mentions($0.openSSL) }?.words ?? "an alert about our certificate"
            self.init(.certificateRejected,
                      "the peer rejected our certificate (\(alert)): check the webhook configuration's caBundle "
                          + "and that the certificate names the host the API server calls")
        case .peerCertificateMissing:
            self.init(.clientCertificateMissing, "the client sent no certificate, and --client-ca-file requires one")
        case .certificateVerificationFailed:
            let verify = error.details.first { $0.hasPrefix("certificate verify: ") }?.dropFirst(20) ?? "verification failed"
            self.init(.clientCertificateInvalid,
                      "the client's certificate did not verify against --client-ca-file (\(verify))")
        case .unexpectedEOF:
            self.init(.closed, "the peer closed the connection during the handshake (a TCP health check or port scan does this)")
        default:
            if mentions("http request") {
                self.init(.notTLS, "the client spoke plain HTTP to the TLS port: it must use https://")
            } else if mentions("wrong version number") || mentions("packet length too long") || mentions("record layer failure") {
                self.init(.notTLS, "the client did not speak TLS (\(openSSL))")
            } else if mentions("unsupported protocol") || mentions("version too low") || mentions("no shared cipher")
                        || mentions("no suitable signature algorithm") || mentions("no shared group")
                        || mentions("alert protocol version") {
                self.init(.protocolMismatch,
                          "the client and the webhook share no TLS version or cipher (the webhook speaks TLS 1.2 and 1.3 "
                              + "with ECDHE AEAD suites): \(openSSL)")
            } else {
                self.init(.other, error.description)
            }
        }
    }

    private init(_ reason: Reason, _ explanation: String) {
        self.reason = reason
        self.explanation = explanation
    }

    /// The TLS alerts a client sends when it rejects a certificate: OpenSSL's reason text, and ours.
    private static let alerts: [(openSSL: String, words: String)] = [
        ("alert unknown ca", "unknown CA"),
        ("alert bad certificate", "bad certificate"),
        ("alert certificate expired", "certificate expired"),
        ("alert certificate unknown", "certificate unknown"),
        ("alert unsupported certificate", "unsupported certificate"),
        ("alert certificate revoked", "certificate revoked"),
    ]
}

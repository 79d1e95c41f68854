import Admission
import TestKubernetesAPI

extension FakeKubernetesAPI {
    /// A server that serves `accounts`.
    convenience init(accounts: [ServiceAccount], token: String? = "fake-token", requireClientCertificate: Bool = false) throws {
        try self.init(token: token, requireClientCertificate: requireClientCertificate)
        try setAccounts(accounts)
    }

    /// The configuration a client uses to reach this server (CA-verified, with the token).
    var configuration: KubernetesAPIConfiguration {
        KubernetesAPIConfiguration(
            host: "127.0.0.1", port: port, certificateAuthorityPEM: certificateAuthorityPEM,
            token: token.map { .fixed($0) })
    }

    /// Replaces the accounts served.
    func setAccounts(_ accounts: [ServiceAccount]) throws {
        var table: [String: [String: String]] = [:]
        for account in accounts { table["\(account.namespace)/\(account.name)"] = account.annotations }
        try setAccounts(table)
    }
}

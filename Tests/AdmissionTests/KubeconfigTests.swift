import Foundation
import TestKubernetesAPI
import Testing
@testable import Admission

@Suite struct KubeconfigTests {
    let directory: TemporaryDirectory
    init() throws { directory = try TemporaryDirectory() }

    static let caPEM = "-----BEGIN CERTIFICATE-----\nY2EgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"
    static let certificatePEM = "-----BEGIN CERTIFICATE-----\nY2xpZW50IGNlcnQ=\n-----END CERTIFICATE-----\n"
    static let keyPEM = "-----BEGIN PRIVATE KEY-----\nY2xpZW50IGtleQ==\n-----END PRIVATE KEY-----\n"

    static func base64(_ text: String) -> String { Data(text.utf8).base64EncodedString() }

    func kubeconfig(cluster: String, user: String = "{}", currentContext: String = "dev", extra: String = "") throws -> String {
        try directory.write("config/kubeconfig", """
            apiVersion: v1
            kind: Config
            current-context: \(currentContext)
            contexts:
            - name: dev
              context: {cluster: dev-cluster, user: dev-user, namespace: shop}
            - name: anonymous
              context: {cluster: dev-cluster}
            clusters:
            - name: dev-cluster
              cluster: \(cluster)
            users:
            - name: dev-user
              user: \(user)
            \(extra)
            """)
    }

    @Test func readsInlineDataForms() throws {
        let path = try kubeconfig(
            cluster: "{server: \"https://api.example.test:6443\", certificate-authority-data: \(Self.base64(Self.caPEM))}",
            user: "{client-certificate-data: \(Self.base64(Self.certificatePEM)), client-key-data: \(Self.base64(Self.keyPEM))}")
        let configuration = try KubernetesAPIConfiguration.kubeconfig(path: path)
        #expect(configuration.host == "api.example.test" && configuration.port == 6443 && configuration.usesTLS)
        #expect(configuration.serverName == "api.example.test" && configuration.pathPrefix == "")
        #expect(configuration.certificateAuthorityPEM == Self.caPEM)
        #expect(configuration.clientCertificatePEM == Self.certificatePEM)
        #expect(configuration.clientKeyPEM == Self.keyPEM)
        #expect(configuration.token == nil && !configuration.insecureSkipTLSVerify)
    }

    @Test func resolvesRelativeFilePathsAgainstTheKubeconfigDirectory() throws {
        try directory.write("config/pki/ca.crt", Self.caPEM)
        try directory.write("config/pki/client.crt", Self.certificatePEM)
        let keyPath = try directory.write("elsewhere/client.key", Self.keyPEM)
        let path = try kubeconfig(
            cluster: "{server: \"https://[fd00::1]:8443/k8s/clusters/c-1/\", certificate-authority: pki/ca.crt, tls-server-name: kubernetes.default}",
            user: "{client-certificate: pki/client.crt, client-key: \(keyPath)}")
        let configuration = try KubernetesAPIConfiguration.kubeconfig(path: path)
        #expect(configuration.host == "fd00::1" && configuration.port == 8443 && configuration.authority == "[fd00::1]:8443")
        #expect(configuration.pathPrefix == "/k8s/clusters/c-1" && configuration.serverName == "kubernetes.default")
        #expect(configuration.certificateAuthorityPEM == Self.caPEM)
        #expect(configuration.clientCertificatePEM == Self.certificatePEM)
        #expect(configuration.clientKeyPEM == Self.keyPEM)
    }

    @Test func readsStaticAndFileTokensPreferringTheFile() throws {
        let withToken = try kubeconfig(cluster: "{server: \"https://10.0.0.1\"}", user: "{token: abc.def}")
        let configuration = try KubernetesAPIConfiguration.kubeconfig(path: withToken)
        #expect(try configuration.token?.token() == "abc.def" && configuration.port == 443)

        try directory.write("config/token", "from-file\n")
        let withBoth = try kubeconfig(cluster: "{server: \"https://10.0.0.1\"}", user: "{token: abc.def, tokenFile: token}")
        let fileConfiguration = try KubernetesAPIConfiguration.kubeconfig(path: withBoth)
        #expect(try fileConfiguration.token?.token() == "from-file")
        #expect(fileConfiguration.token?.path == directory.path + "/config/token")
    }

    @Test func selectsAnExplicitContext() throws {
        let path = try kubeconfig(cluster: "{server: \"https://10.0.0.1\"}", user: "{token: abc}")
        #expect(try KubernetesAPIConfiguration.kubeconfig(path: path, context: "anonymous").token == nil)
        #expect(try KubernetesAPIConfiguration.kubeconfig(path: path).token != nil)
    }

    @Test func insecureOptionsNeedAllowInsecure() throws {
        let skipVerify = try kubeconfig(cluster: "{server: \"https://127.0.0.1:6443\", insecure-skip-tls-verify: true}")
        let refused = #expect(throws: KubeconfigError.self) { try KubernetesAPIConfiguration.kubeconfig(path: skipVerify) }
        #expect(refused?.field == "clusters[\"dev-cluster\"].cluster.insecure-skip-tls-verify")
        #expect(try KubernetesAPIConfiguration.kubeconfig(path: skipVerify, allowInsecure: true).insecureSkipTLSVerify)

        let plain = try kubeconfig(cluster: "{server: \"http://127.0.0.1:8080\"}")
        let plainRefused = #expect(throws: KubeconfigError.self) { try KubernetesAPIConfiguration.kubeconfig(path: plain) }
        #expect(plainRefused?.problem.contains("plain http") == true)
        let allowed = try KubernetesAPIConfiguration.kubeconfig(path: plain, allowInsecure: true)
        #expect(!allowed.usesTLS && allowed.port == 8080)
    }

    static let badConfigurations: [(cluster: String, user: String, currentContext: String, field: String?, problem: String)] = [
        ("{server: \"https://a\"}", "{}", "missing", "contexts[\"missing\"]", "is not defined"),
        ("{server: \"https://a\"}", "{}", "\"\"", "current-context", "is not set and no context was given"),
        ("{certificate-authority-data: eA==}", "{}", "dev", "clusters[\"dev-cluster\"].cluster.server", "is missing"),
        ("{server: \"ftp://a\"}", "{}", "dev", "clusters[\"dev-cluster\"].cluster.server", "\"ftp://a\" is not an https:// URL"),
        ("{server: \"https://a:99999\"}", "{}", "dev", "clusters[\"dev-cluster\"].cluster.server", "\"https://a:99999\" has an invalid port"),
        ("{server: \"https://a\", certificate-authority-data: \"!!!\"}", "{}", "dev",
         "clusters[\"dev-cluster\"].cluster.certificate-authority-data", "is not valid base64"),
        ("{server: \"https://a\", insecure-skip-tls-verify: maybe}", "{}", "dev",
         "clusters[\"dev-cluster\"].cluster.insecure-skip-tls-verify", "is not true or false"),
        ("{server: \"https://a\", proxy-url: \"http://proxy\"}", "{}", "dev", "clusters[\"dev-cluster\"].cluster.proxy-url", "is not supported"),
        ("{server: \"https://a\"}", "{exec: {command: aws}}", "dev", "users[\"dev-user\"].user.exec", "is not supported"),
        ("{server: \"https://a\", certificate-authority-data: eA==}", "{}", "dev",
         "clusters[\"dev-cluster\"].cluster.certificate-authority-data", "does not hold PEM text (no -----BEGIN line)"),
        ("{server: \"https://a\"}", "{client-certificate-data: \(base64(certificatePEM))}", "dev", "users[\"dev-user\"].user.client-key", "is missing (client-certificate is set)"),
        ("{server: \"https://a\"}", "{client-key: nothere.key}", "dev", "users[\"dev-user\"].user.client-key", "nothere.key: cannot open: No such file or directory (errno 2)"),
        ("{server: \"https://a\"}", "{tokenFile: nothere}", "dev", "users[\"dev-user\"].user.tokenFile", "nothere: cannot open: No such file or directory (errno 2)"),
        ("{server: \"https://a\"}", "{token: [a]}", "dev", "users[\"dev-user\"].user.token", "is not a string"),
    ]

    @Test(arguments: badConfigurations)
    func rejectsBadConfigurationsNamingTheField(cluster: String, user: String, currentContext: String, field: String?, problem: String) throws {
        let path = try kubeconfig(cluster: cluster, user: user, currentContext: currentContext)
        let error = #expect(throws: KubeconfigError.self) { try KubernetesAPIConfiguration.kubeconfig(path: path) }
        #expect(error?.field == field)
        #expect(error?.problem.hasSuffix(problem) == true, "\(error?.description ?? "")")
        #expect(error?.description.hasPrefix("kubeconfig \(path): ") == true)
    }

    @Test func rejectsUndefinedUsersAndClusters() throws {
        let path = try directory.write("k", """
            current-context: c
            contexts: [{name: c, context: {cluster: nowhere, user: nobody}}]
            clusters: []
            """)
        let error = #expect(throws: KubeconfigError.self) { try KubernetesAPIConfiguration.kubeconfig(path: path) }
        #expect(error?.description == "kubeconfig \(path): clusters[\"nowhere\"] is not defined")
    }

    @Test func rejectsFilesThatAreNotKubeconfigs() throws {
        let wrongKind = try directory.write("a", "kind: Pod\n")
        #expect(throws: KubeconfigError(path: wrongKind, field: "kind", problem: "is \"Pod\", expected Config")) {
            try KubernetesAPIConfiguration.kubeconfig(path: wrongKind)
        }
        let badYAML = try directory.write("b", "clusters: [\n")
        let yamlError = #expect(throws: KubeconfigError.self) { try KubernetesAPIConfiguration.kubeconfig(path: badYAML) }
        #expect(yamlError?.problem.hasPrefix("bad YAML") == true)
        let list = try directory.write("c", "- a\n")
        #expect(throws: KubeconfigError(path: list, problem: "not a mapping (an object)")) {
            try KubernetesAPIConfiguration.kubeconfig(path: list)
        }
        let large = try directory.write("d", "current-context: x\n" + String(repeating: "#", count: 2000))
        #expect(throws: KubeconfigError(path: large, problem: "2019 bytes, more than the limit of 1024")) {
            try KubernetesAPIConfiguration.kubeconfig(path: large, maximumBytes: 1024)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func refusesDeepNestingAndAliasBombs() throws {
        let deep = try kubeconfig(cluster: "{server: \"https://a\"}", extra: "preferences: " + String(repeating: "[", count: 80) + String(repeating: "]", count: 80))
        let deepError = #expect(throws: KubeconfigError.self) { try KubernetesAPIConfiguration.kubeconfig(path: deep) }
        #expect(deepError?.problem.hasPrefix("nested deeper than 64 levels") == true, "\(deepError?.description ?? "")")
        let laughs = "x0: &l0 [a, a, a, a, a, a, a, a, a, a]\n"
            + (1...9).map { "x\($0): &l\($0) [" + Array(repeating: "*l\($0 - 1)", count: 10).joined(separator: ", ") + "]\n" }.joined()
        let bomb = try directory.write("bomb", laughs + "kind: Config\ncontexts: [*l9]\n")
        let bombError = #expect(throws: KubeconfigError.self) { try KubernetesAPIConfiguration.kubeconfig(path: bomb) }
        #expect(bombError?.problem.hasSuffix("YAML nodes once aliases are expanded") == true, "\(bombError?.description ?? "")")
    }

    @Test func aSyntaxErrorIsOneLineAndDoesNotQuoteTheToken() throws {
        let path = try kubeconfig(cluster: "{server: \"https://a\"}", user: "{token: tok-do-not-print, [")
        let error = #expect(throws: KubeconfigError.self) { try KubernetesAPIConfiguration.kubeconfig(path: path) }
        let message = error?.description ?? ""
        #expect(message.hasPrefix("kubeconfig \(path): bad YAML: line "), "\(message)")
        #expect(!message.contains("\n") && !message.contains("tok-do-not-print"), "\(message)")
    }
}


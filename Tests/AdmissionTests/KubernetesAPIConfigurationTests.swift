import Foundation
import TestKubernetesAPI
import Testing
@testable import Admission

@Suite struct KubernetesAPIConfigurationTests {
    let directory: TemporaryDirectory
    init() throws { directory = try TemporaryDirectory() }

    static let caPEM = "-----BEGIN CERTIFICATE-----\nY2E=\n-----END CERTIFICATE-----\n"

    @Test(arguments: [
        ("10.96.0.1", "443", "10.96.0.1", "10.96.0.1:443"),
        ("fd00:10:96::1", "6443", "fd00:10:96::1", "[fd00:10:96::1]:6443"),
        ("[fd00::1]", "443", "fd00::1", "[fd00::1]:443"),
    ])
    func readsTheInClusterEnvironmentAndFiles(host: String, port: String, expectedHost: String, authority: String) throws {
        try directory.write("ca.crt", Self.caPEM)
        try directory.write("token", "eyJhbGciOi.token.sig\n")
        let configuration = try KubernetesAPIConfiguration.inCluster(
            environment: ["KUBERNETES_SERVICE_HOST": host, "KUBERNETES_SERVICE_PORT": port],
            serviceAccountDirectory: directory.path)
        #expect(configuration.host == expectedHost && configuration.authority == authority)
        #expect(configuration.port == Int(port) && configuration.usesTLS && configuration.serverName == expectedHost)
        #expect(configuration.certificateAuthorityPEM == Self.caPEM)
        #expect(try configuration.token?.token() == "eyJhbGciOi.token.sig")
        #expect(configuration.clientCertificatePEM == nil && !configuration.insecureSkipTLSVerify)
    }

    @Test func inClusterErrorsNameTheVariableOrFile() throws {
        let environment = ["KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"]
        #expect(throws: KubernetesConfigurationError(subject: "KUBERNETES_SERVICE_HOST", problem: "not set; not running in a pod?")) {
            try KubernetesAPIConfiguration.inCluster(environment: [:], serviceAccountDirectory: directory.path)
        }
        #expect(throws: KubernetesConfigurationError(subject: "KUBERNETES_SERVICE_PORT", problem: "\"https\" is not a port number")) {
            try KubernetesAPIConfiguration.inCluster(
                environment: ["KUBERNETES_SERVICE_HOST": "h", "KUBERNETES_SERVICE_PORT": "https"], serviceAccountDirectory: directory.path)
        }
        #expect(throws: KubernetesConfigurationError(subject: directory.path + "/ca.crt", problem: "cannot open: No such file or directory (errno 2)")) {
            try KubernetesAPIConfiguration.inCluster(environment: environment, serviceAccountDirectory: directory.path)
        }
        try directory.write("ca.crt", Self.caPEM)
        try directory.write("token", " \n")
        #expect(throws: KubernetesConfigurationError(subject: directory.path + "/token", problem: "the token file is empty")) {
            try KubernetesAPIConfiguration.inCluster(environment: environment, serviceAccountDirectory: directory.path)
        }
    }

    @Test(arguments: [
        ("https://api.test", KubernetesAPIConfiguration.ServerAddress(usesTLS: true, host: "api.test", port: 443, pathPrefix: "")),
        ("https://api.test:6443/", .init(usesTLS: true, host: "api.test", port: 6443, pathPrefix: "")),
        ("https://[::1]:6443/prefix/x", .init(usesTLS: true, host: "::1", port: 6443, pathPrefix: "/prefix/x")),
        ("https://[::1]", .init(usesTLS: true, host: "::1", port: 443, pathPrefix: "")),
        ("http://127.0.0.1", .init(usesTLS: false, host: "127.0.0.1", port: 80, pathPrefix: "")),
    ])
    func parsesServerURLs(url: String, expected: KubernetesAPIConfiguration.ServerAddress) throws {
        #expect(try KubernetesAPIConfiguration.ServerAddress.parse(url, allowPlainHTTP: true) == expected)
    }

    @Test(arguments: ["api.test", "https://", "https://:443", "https://a:0", "https://a:x", "https://u@a", "https://a?x=1",
                      "https://[::1", "https://[::1]x", "http://a"])
    func rejectsBadServerURLs(url: String) {
        #expect(throws: ConfigurationFile.Failure.self) { try KubernetesAPIConfiguration.ServerAddress.parse(url, allowPlainHTTP: false) }
    }
}

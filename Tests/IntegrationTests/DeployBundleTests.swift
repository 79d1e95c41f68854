import Foundation
import Testing
import Yams

/// The files assembled from others: deploy.yaml (all manifests in one, also the cert-manager
/// overlay's copy) and the kustomize base and overlay.
@Suite("deploy/ bundles")
struct DeployBundleTests {
    static let parts = ["namespace.yaml", "rbac.yaml", "service.yaml", "deployment.yaml", "pdb.yaml", "webhook.yaml"]

    @Test("deploy.yaml and the overlay's copy are what build-deploy-yaml.sh writes today",
          arguments: ["deploy.yaml", "cert-manager/deploy.yaml"])
    func deployYAMLIsCurrent(file: String) async throws {
        let result = try await TestTools.run(["bash", Deploy.url("build-deploy-yaml.sh").path, "--stdout"], timeout: .seconds(20))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == (try Deploy.text(file)),
                "deploy/\(file) is out of date: run deploy/build-deploy-yaml.sh")
    }

    @Test("the kustomize base lists the parts of deploy.yaml, in apply order")
    func kustomizationIsTheParts() throws {
        #expect(try Deploy.kustomizationResources("kustomization.yaml") == Self.parts)
        #expect(try Deploy.kustomizationResources("cert-manager/kustomization.yaml") == ["deploy.yaml", "certificates.yaml"])
    }

    @Test("deploy.yaml holds every document of the parts, in apply order")
    func deployYAMLIsTheConcatenation() throws {
        let bundle = try Deploy.documents("deploy.yaml")
        let expected = try Self.parts.flatMap { try Deploy.documents($0) }
        #expect(bundle == expected)
        let kinds = bundle.compactMap { $0["kind"]?.string }
        #expect(kinds == [
            "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Service",
            "Deployment", "PodDisruptionBudget", "MutatingWebhookConfiguration",
        ])
    }

    @Test("cert-manager issues the serving certificate into the Secret the Deployment mounts")
    func certManagerChain() throws {
        let file = "cert-manager/certificates.yaml"
        let selfSigned = try Deploy.object(file, kind: "Issuer", name: "irsa-webhook-selfsigned")
        #expect(selfSigned["spec"]?["selfSigned"] != nil)

        let ca = try Deploy.object(file, kind: "Certificate", name: "irsa-webhook-ca")
        #expect(ca["spec"]?["isCA"]?.bool == true)
        #expect(ca["spec"]?["issuerRef"]?["name"]?.string == "irsa-webhook-selfsigned")

        let caIssuer = try Deploy.object(file, kind: "Issuer", name: "irsa-webhook-ca")
        #expect(caIssuer["spec"]?["ca"]?["secretName"]?.string == ca["spec"]?["secretName"]?.string)

        let serving = try Deploy.object(file, kind: "Certificate", name: "irsa-webhook-tls")
        let spec = try #require(serving["spec"])
        #expect(spec["issuerRef"]?["name"]?.string == "irsa-webhook-ca")
        #expect(spec["isCA"]?.bool != true)
        #expect(spec["dnsNames"]?.array(of: String.self).sorted() == [
            "irsa-webhook.irsa-system.svc", "irsa-webhook.irsa-system.svc.cluster.local",
        ])
        #expect(spec["usages"]?.array(of: String.self).contains("server auth") == true)
        #expect(spec["privateKey"]?["algorithm"]?.string == "ECDSA")
        #expect(spec["privateKey"]?["size"]?.int == 256)

        let deployment = try Deploy.object("deployment.yaml", kind: "Deployment", name: "irsa-webhook")
        let volumes = deployment["spec"]?["template"]?["spec"]?["volumes"]?.sequence ?? []
        let mounted = volumes.compactMap { $0["secret"]?["secretName"]?.string }
        #expect(mounted == [spec["secretName"]?.string ?? "?"])
        for object in [selfSigned, ca, caIssuer, serving] {
            #expect(object["metadata"]?["namespace"]?.string == "irsa-system")
        }
    }

    /// `kubectl kustomize deploy/<directory>`'s objects, keyed by kind/name.
    static func kustomize(_ directory: String) async throws -> [String: Node] {
        let result = try await TestTools.run(["kubectl", "kustomize", Deploy.url(directory).path], timeout: .seconds(60))
        try #require(result.status == 0, "kubectl kustomize \(directory): \(result.stderr)")
        return try Self.byKindAndName(Deploy.documents(yaml: result.stdout))
    }

    static func byKindAndName(_ objects: [Node]) -> [String: Node] {
        var result: [String: Node] = [:]
        for object in objects {
            result["\(object["kind"]?.string ?? "?")/\(object["metadata"]?["name"]?.string ?? "?")"] = object
        }
        return result
    }

    @Test("kubectl kustomize deploy/ builds exactly deploy.yaml's objects",
          .enabled(if: Deploy.which("kubectl") != nil, "kubectl is not installed (it has kustomize built in)"))
    func kustomizeBase() async throws {
        let built = try await Self.kustomize("")
        let bundle = Self.byKindAndName(try Deploy.documents("deploy.yaml"))
        #expect(built.keys.sorted() == bundle.keys.sorted())
        for (key, object) in bundle {
            #expect(try Deploy.json(built[key]) == (try Deploy.json(object)), "\(key) differs from deploy.yaml's")
        }
    }

    @Test("the cert-manager overlay: the base, cert-manager's objects, and the webhook annotated for injection without caBundle",
          .enabled(if: Deploy.which("kubectl") != nil, "kubectl is not installed (it has kustomize built in)"))
    func kustomizeCertManager() async throws {
        let built = try await Self.kustomize("cert-manager")
        let base = Self.byKindAndName(try Deploy.documents("deploy.yaml"))
        let certificates = Self.byKindAndName(try Deploy.documents("cert-manager/certificates.yaml"))
        #expect(Set(built.keys) == Set(base.keys).union(certificates.keys))
        for (key, object) in base.merging(certificates, uniquingKeysWith: { first, _ in first })
        where key != "MutatingWebhookConfiguration/irsa-webhook" {
            #expect(try Deploy.json(built[key]) == (try Deploy.json(object)), "\(key) changed by the overlay")
        }

        let injected = try #require(built["MutatingWebhookConfiguration/irsa-webhook"])
        let annotations = injected["metadata"]?["annotations"]?.stringMap ?? [:]
        let serving = try Deploy.object("cert-manager/certificates.yaml", kind: "Certificate", name: "irsa-webhook-tls")
        let servingNamespace = serving["metadata"]?["namespace"]?.string ?? "?"
        #expect(annotations == ["cert-manager.io/inject-ca-from": "\(servingNamespace)/irsa-webhook-tls"])

        var plain = try #require(base["MutatingWebhookConfiguration/irsa-webhook"])
        var hook = try #require(plain["webhooks"]?[0])
        var clientConfig = try #require(hook["clientConfig"]?.mapping)
        clientConfig["caBundle"] = nil
        hook["clientConfig"] = .mapping(clientConfig)
        plain["webhooks"] = .sequence([hook])
        #expect(try Deploy.json(injected["webhooks"]) == (try Deploy.json(plain["webhooks"])), "webhooks differ from webhook.yaml's but for caBundle")
        #expect(injected["metadata"]?["labels"] == plain["metadata"]?["labels"])
    }
}

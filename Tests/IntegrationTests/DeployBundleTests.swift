import Foundation
import Testing
import Yams

/// The files assembled from others: deploy.yaml (all manifests in one) and cert-manager.yaml
/// (its own copy of the webhook configuration).
@Suite("deploy/ bundles")
struct DeployBundleTests {
    static let parts = ["namespace.yaml", "rbac.yaml", "service.yaml", "deployment.yaml", "pdb.yaml", "webhook.yaml"]

    @Test("deploy.yaml is what build-deploy-yaml.sh writes today")
    func deployYAMLIsCurrent() async throws {
        let result = try await TestTools.run(["bash", Deploy.url("build-deploy-yaml.sh").path, "--stdout"], timeout: .seconds(20))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == (try Deploy.text("deploy.yaml")),
                "deploy/deploy.yaml is out of date: run deploy/build-deploy-yaml.sh")
    }

    @Test("deploy.yaml holds every document of the parts, in apply order")
    func deployYAMLIsTheConcatenation() throws {
        let bundle = try Deploy.documents("deploy.yaml")
        let expected = try Self.parts.flatMap { try Deploy.documents($0) }
        #expect(bundle == expected)
        let kinds = bundle.compactMap { $0["kind"]?.string }
        #expect(kinds == [
            "Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Service",
            "Deployment", "PodDisruptionBudget", "MutatingWebhookConfiguration",
        ])
    }

    @Test("cert-manager issues the serving certificate into the Secret the Deployment mounts")
    func certManagerChain() throws {
        let file = "cert-manager.yaml"
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

    @Test("cert-manager.yaml's webhook is webhook.yaml, annotated for CA injection, without caBundle")
    func certManagerWebhook() throws {
        let injected = try Deploy.object("cert-manager.yaml", kind: "MutatingWebhookConfiguration", name: "irsa-webhook")
        let annotations = injected["metadata"]?["annotations"]?.stringMap ?? [:]
        #expect(annotations["cert-manager.io/inject-ca-from"] == "irsa-system/irsa-webhook-tls")

        var plain = try Deploy.object("webhook.yaml", kind: "MutatingWebhookConfiguration", name: "irsa-webhook")
        var hook = try #require(plain["webhooks"]?[0])
        var clientConfig = try #require(hook["clientConfig"]?.mapping)
        clientConfig["caBundle"] = nil
        hook["clientConfig"] = .mapping(clientConfig)
        plain["webhooks"] = .sequence([hook])
        #expect(injected["webhooks"] == plain["webhooks"], "webhooks differ from webhook.yaml's")
        #expect(injected["metadata"]?["labels"] == plain["metadata"]?["labels"])
    }
}

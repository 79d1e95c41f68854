import Foundation
import Testing
import Yams

/// The Kubernetes manifests in deploy/: each parses as Kubernetes objects, carries the settings
/// the deployment depends on, and refers to the others by the right names.
@Suite("deploy/ manifests")
struct DeployManifestTests {
    static let clusterScopedKinds: Set = [
        "Namespace", "ClusterRole", "ClusterRoleBinding", "MutatingWebhookConfiguration",
    ]
    static let namespacedKinds: Set = [
        "ServiceAccount", "Deployment", "Service", "PodDisruptionBudget", "Secret", "Pod",
        "Issuer", "Certificate", "CronJob", "Role", "RoleBinding",
    ]

    @Test("every document is a Kubernetes object", arguments: Deploy.manifestFiles)
    func everyDocumentIsAnObject(file: String) throws {
        let documents = try Deploy.documents(file)
        #expect(!documents.isEmpty, "\(file) has no documents")
        for document in documents {
            let kind = try #require(document["kind"]?.string, "\(file): a document without kind")
            let apiVersion = document["apiVersion"]?.string ?? ""
            let name = document["metadata"]?["name"]?.string ?? ""
            #expect(apiVersion.range(of: #"^([a-z0-9.-]+/)?v1(beta1)?$"#, options: .regularExpression) != nil,
                    "\(file): \(kind) apiVersion '\(apiVersion)'")
            #expect(name.range(of: #"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$"#, options: .regularExpression) != nil,
                    "\(file): \(kind) metadata.name '\(name)'")
            let namespace = document["metadata"]?["namespace"]?.string
            if Self.clusterScopedKinds.contains(kind) {
                #expect(namespace == nil, "\(file): cluster-scoped \(kind) \(name) has a namespace")
            } else {
                #expect(Self.namespacedKinds.contains(kind), "\(file): unexpected kind \(kind)")
                #expect(namespace != nil, "\(file): \(kind) \(name) has no namespace")
            }
        }
    }

    @Test("every manifest validates strictly against the Kubernetes 1.30 and latest schemas",
          .enabled(if: Deploy.which("kubernetes-validate") != nil,
                   "kubernetes-validate is not installed (PyPI package kubernetes-validate)"),
          arguments: ["1.30.0", "latest"])
    func schemas(version: String) async throws {
        // 1.30 is the oldest release with the preStop sleep action enabled by default.
        let paths = Deploy.manifestFiles.map { Deploy.url($0).path }
        let versionArguments = version == "latest" ? [] : ["--kubernetes-version", version]
        let result = try await TestTools.run(["kubernetes-validate", "--strict", "--quiet", "--no-warn"] + versionArguments + paths,
                                    timeout: .seconds(120))
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
    }

    @Test("the namespace enforces Pod Security restricted")
    func namespace() throws {
        let namespace = try Deploy.object("namespace.yaml", kind: "Namespace", name: "irsa-system")
        #expect(namespace["metadata"]?["labels"]?.stringMap["pod-security.kubernetes.io/enforce"] == "restricted")
    }

    @Test("RBAC: get, list and watch on serviceaccounts; get and patch on its own webhook configuration only; its Lease")
    func rbac() throws {
        let account = try Deploy.object("rbac.yaml", kind: "ServiceAccount", name: "irsa-webhook")
        #expect(account["metadata"]?["namespace"]?.string == "irsa-system")

        let role = try Deploy.object("rbac.yaml", kind: "ClusterRole", name: "irsa-webhook")
        let rules = try #require(role["rules"]?.sequence)
        #expect(rules.count == 2)
        #expect(rules.first?["apiGroups"]?.array(of: String.self) == [""])
        #expect(rules.first?["resources"]?.array(of: String.self) == ["serviceaccounts"])
        #expect(rules.first?["verbs"]?.array(of: String.self).sorted() == ["get", "list", "watch"])
        #expect(rules.first?["resourceNames"] == nil && rules.first?["nonResourceURLs"] == nil)
        let webhook = try Deploy.object("webhook.yaml", kind: "MutatingWebhookConfiguration", name: "irsa-webhook")
        #expect(rules.last?["apiGroups"]?.array(of: String.self) == ["admissionregistration.k8s.io"])
        #expect(rules.last?["resources"]?.array(of: String.self) == ["mutatingwebhookconfigurations"])
        #expect(rules.last?["resourceNames"]?.array(of: String.self) == [webhook["metadata"]?["name"]?.string ?? "?"])
        #expect(rules.last?["verbs"]?.array(of: String.self).sorted() == ["get", "patch"])

        let leases = try Deploy.object("rbac.yaml", kind: "Role", name: "irsa-webhook")
        #expect(leases["metadata"]?["namespace"]?.string == "irsa-system")
        let leaseRules = try #require(leases["rules"]?.sequence)
        #expect(leaseRules.allSatisfy {
            $0["apiGroups"]?.array(of: String.self) == ["coordination.k8s.io"] && $0["resources"]?.array(of: String.self) == ["leases"]
        })
        #expect(leaseRules.map { $0["verbs"]?.array(of: String.self).sorted() ?? [] } == [["create"], ["get", "update"]])
        #expect(leaseRules.last?["resourceNames"]?.array(of: String.self) == ["irsa-webhook-narrowing"])
        let leaseBinding = try Deploy.object("rbac.yaml", kind: "RoleBinding", name: "irsa-webhook")
        #expect(leaseBinding["roleRef"]?["kind"]?.string == "Role")
        #expect(leaseBinding["subjects"]?[0]?["name"]?.string == "irsa-webhook")

        let binding = try Deploy.object("rbac.yaml", kind: "ClusterRoleBinding", name: "irsa-webhook")
        #expect(binding["roleRef"]?["kind"]?.string == "ClusterRole")
        #expect(binding["roleRef"]?["name"]?.string == "irsa-webhook")
        let subjects = try #require(binding["subjects"]?.sequence)
        #expect(subjects.count == 1)
        #expect(subjects.first?["kind"]?.string == "ServiceAccount")
        #expect(subjects.first?["name"]?.string == "irsa-webhook")
        #expect(subjects.first?["namespace"]?.string == "irsa-system")
    }

    @Test("the Deployment runs two hardened replicas")
    func deploymentSecurity() throws {
        let deployment = try Deploy.object("deployment.yaml", kind: "Deployment", name: "irsa-webhook")
        #expect(deployment["spec"]?["replicas"]?.int == 2)
        let pod = try #require(deployment["spec"]?["template"]?["spec"])
        #expect(pod["serviceAccountName"]?.string == "irsa-webhook")
        let podSecurity = try #require(pod["securityContext"])
        #expect(podSecurity["runAsNonRoot"]?.bool == true)
        #expect(podSecurity["runAsUser"]?.int == 65532)
        #expect(podSecurity["runAsGroup"]?.int == 65532)
        #expect(podSecurity["seccompProfile"]?["type"]?.string == "RuntimeDefault")

        let containers = try #require(pod["containers"]?.sequence)
        #expect(containers.count == 1)
        let container = try #require(containers.first)
        #expect(container["image"]?.string == "irsa-webhook:0.1.0")
        let security = try #require(container["securityContext"])
        #expect(security["allowPrivilegeEscalation"]?.bool == false)
        #expect(security["readOnlyRootFilesystem"]?.bool == true)
        #expect(security["privileged"]?.bool != true)
        #expect(security["capabilities"]?["drop"]?.array(of: String.self) == ["ALL"])
        #expect(security["capabilities"]?["add"] == nil)
        // Container-level settings override the pod's: none may undo them.
        #expect(security["runAsUser"]?.int ?? 65532 == 65532)
        #expect(security["runAsNonRoot"]?.bool ?? true == true)
        #expect(pod["hostNetwork"]?.bool != true && pod["hostPID"]?.bool != true)

        for section in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                #expect(container["resources"]?[section]?[resource]?.string != nil,
                        "resources.\(section).\(resource) missing")
            }
        }
    }

    @Test("probes, ports, certificate volume and flags agree with each other")
    func deploymentWiring() throws {
        let deployment = try Deploy.object("deployment.yaml", kind: "Deployment", name: "irsa-webhook")
        let pod = try #require(deployment["spec"]?["template"]?["spec"])
        let container = try #require(pod["containers"]?[0])
        var ports: [String: Int] = [:]
        for port in container["ports"]?.sequence ?? [] {
            if let name = port["name"]?.string, let number = port["containerPort"]?.int { ports[name] = number }
        }
        #expect(ports == ["webhook": 8443, "metrics": 9090])

        let flags = Self.flags(container)
        #expect(flags["--port"] == "8443")
        #expect(flags["--metrics-port"] == "9090")

        // Probes use the plain metrics port: under --client-ca-file the TLS port wants a client
        // certificate on every path, and the kubelet has none.
        for (probe, path) in [("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")] {
            let get = try #require(container[probe]?["httpGet"], "\(probe) is not an httpGet probe")
            #expect(get["path"]?.string == path)
            #expect(get["scheme"]?.string == "HTTP")
            #expect(get["port"]?.string == "metrics")
        }

        // The TLS files live on the mounted Secret.
        let mount = try #require(container["volumeMounts"]?.sequence?.first { $0["name"]?.string == "certs" })
        #expect(mount["readOnly"]?.bool == true)
        let mountPath = try #require(mount["mountPath"]?.string)
        #expect(flags["--tls-cert-file"] == mountPath + "/tls.crt")
        #expect(flags["--tls-key-file"] == mountPath + "/tls.key")
        let volume = try #require(pod["volumes"]?.sequence?.first { $0["name"]?.string == "certs" })
        #expect(volume["secret"]?["secretName"]?.string == "irsa-webhook-tls")

        // Every $(VAR) in the arguments is an env var the container defines.
        let envNames = Set((container["env"]?.sequence ?? []).compactMap { $0["name"]?.string })
        for argument in container["args"]?.array(of: String.self) ?? [] {
            for match in argument.matches(of: /\$\(([A-Za-z_][A-Za-z0-9_]*)\)/) {
                #expect(envNames.contains(String(match.1)), "\(argument) refers to an undefined variable")
            }
        }
    }

    @Test("shutdown: preStop sleep, then --shutdown-grace, fit in terminationGracePeriodSeconds")
    func deploymentShutdown() throws {
        let deployment = try Deploy.object("deployment.yaml", kind: "Deployment", name: "irsa-webhook")
        let pod = try #require(deployment["spec"]?["template"]?["spec"])
        let container = try #require(pod["containers"]?[0])
        let preStop = try #require(container["lifecycle"]?["preStop"]?["sleep"]?["seconds"]?.int,
                                   "preStop is not a sleep action")
        #expect(preStop >= 3)
        let grace = try #require(pod["terminationGracePeriodSeconds"]?.int)
        // The binary's default is 25 s unless the manifest passes another value.
        let shutdownGrace = Self.flags(container)["--shutdown-grace"].flatMap { Int($0.prefix { $0.isNumber }) } ?? 25
        #expect(grace > preStop + shutdownGrace)
    }

    @Test("replicas spread over nodes, and the PodDisruptionBudget keeps one")
    func availability() throws {
        let deployment = try Deploy.object("deployment.yaml", kind: "Deployment", name: "irsa-webhook")
        let template = try #require(deployment["spec"]?["template"])
        let podLabels = template["metadata"]?["labels"]?.stringMap ?? [:]
        #expect(try LabelSelector(node: #require(deployment["spec"]?["selector"])).matches(podLabels))

        let terms = template["spec"]?["affinity"]?["podAntiAffinity"]?["preferredDuringSchedulingIgnoredDuringExecution"]?.sequence
        let term = try #require(terms?.first?["podAffinityTerm"], "no podAntiAffinity term")
        #expect(term["topologyKey"]?.string == "kubernetes.io/hostname")
        #expect(try LabelSelector(node: #require(term["labelSelector"])).matches(podLabels))

        let budget = try Deploy.object("pdb.yaml", kind: "PodDisruptionBudget", name: "irsa-webhook")
        #expect(budget["apiVersion"]?.string == "policy/v1")
        #expect(budget["spec"]?["minAvailable"]?.int == 1)
        #expect(try LabelSelector(node: #require(budget["spec"]?["selector"])).matches(podLabels))
    }

    @Test("the Service sends 443 to the webhook port and 9090 to metrics")
    func service() throws {
        let service = try Deploy.object("service.yaml", kind: "Service", name: "irsa-webhook")
        #expect(service["metadata"]?["namespace"]?.string == "irsa-system")
        let deployment = try Deploy.object("deployment.yaml", kind: "Deployment", name: "irsa-webhook")
        let podLabels = deployment["spec"]?["template"]?["metadata"]?["labels"]?.stringMap ?? [:]
        let selector = service["spec"]?["selector"]?.stringMap ?? [:]
        #expect(!selector.isEmpty && selector.allSatisfy { podLabels[$0.key] == $0.value })

        var targets: [Int: String] = [:]
        for port in service["spec"]?["ports"]?.sequence ?? [] {
            if let number = port["port"]?.int { targets[number] = port["targetPort"]?.string }
        }
        #expect(targets == [443: "webhook", 9090: "metrics"])
    }

    @Test("the webhook configuration")
    func webhook() throws {
        let configuration = try Deploy.object("webhook.yaml", kind: "MutatingWebhookConfiguration", name: "irsa-webhook")
        #expect(configuration["apiVersion"]?.string == "admissionregistration.k8s.io/v1")
        let hooks = try #require(configuration["webhooks"]?.sequence)
        #expect(hooks.count == 1)
        let hook = try #require(hooks.first)
        // A webhook name must be a fully qualified name of three or more labels.
        #expect((hook["name"]?.string ?? "").split(separator: ".").count >= 3)

        let client = try #require(hook["clientConfig"])
        #expect(client["service"]?["name"]?.string == "irsa-webhook")
        #expect(client["service"]?["namespace"]?.string == "irsa-system")
        #expect(client["service"]?["port"]?.int == 443)
        #expect(client["service"]?["path"]?.string == "/mutate")
        #expect(client["url"] == nil)
        #expect(client["caBundle"]?.string == "", "caBundle must be an empty placeholder")

        #expect(hook["admissionReviewVersions"]?.array(of: String.self) == ["v1"])
        #expect(hook["sideEffects"]?.string == "None")
        #expect(hook["reinvocationPolicy"]?.string == "IfNeeded")
        #expect(hook["timeoutSeconds"]?.int == 10)
        #expect(hook["failurePolicy"]?.string == "Ignore")

        let rules = try #require(hook["rules"]?.sequence)
        #expect(rules.count == 1)
        #expect(rules.first?["operations"]?.array(of: String.self) == ["CREATE"])
        #expect(rules.first?["apiGroups"]?.array(of: String.self) == [""])
        #expect(rules.first?["apiVersions"]?.array(of: String.self) == ["v1"])
        #expect(rules.first?["resources"]?.array(of: String.self) == ["pods"])

        let text = try Deploy.text("webhook.yaml")
        #expect(text.contains("failurePolicy Ignore:") && text.contains("Use Fail when"),
                "the failurePolicy choice is explained in a comment")
    }

    @Test("the webhook's selectors skip its own namespace, kube-system and opted-out Pods")
    func webhookSelectors() throws {
        let configuration = try Deploy.object("webhook.yaml", kind: "MutatingWebhookConfiguration", name: "irsa-webhook")
        let hook = try #require(configuration["webhooks"]?[0])
        let namespaces = try LabelSelector(node: #require(hook["namespaceSelector"]))
        let objects = try LabelSelector(node: #require(hook["objectSelector"]))
        let name = "kubernetes.io/metadata.name"
        #expect(try namespaces.matches([name: "default"]))
        #expect(try namespaces.matches([name: "payments"]))
        #expect(try !namespaces.matches([name: "irsa-system"]))
        #expect(try !namespaces.matches([name: "kube-system"]))

        let optOut = "vultr.com/skip-irsa-webhook"
        #expect(try objects.matches([:]))
        #expect(try objects.matches(["app": "web"]))
        #expect(try objects.matches([optOut: "false"]))
        #expect(try !objects.matches([optOut: "true"]))

        // The webhook's own Pods are opted out too.
        let deployment = try Deploy.object("deployment.yaml", kind: "Deployment", name: "irsa-webhook")
        let podLabels = deployment["spec"]?["template"]?["metadata"]?["labels"]?.stringMap ?? [:]
        #expect(try !objects.matches(podLabels))
    }

    /// `--flag=value` arguments of a container, by flag.
    static func flags(_ container: Node) -> [String: String] {
        var flags: [String: String] = [:]
        for argument in container["args"]?.array(of: String.self) ?? [] {
            let parts = argument.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { flags[String(parts[0])] = String(parts[1]) }
        }
        return flags
    }
}

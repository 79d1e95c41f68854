import PatchVerification

/// The controller that creates a generated pod; it decides names, labels and owner references.
enum PodOwner: String, Sendable, CaseIterable {
    case deployment, statefulSet, job
}

/// Builds realistic Pod objects as controllers submit them to admission: owner references,
/// controller labels, several containers with probes, env (value and valueFrom), mounts and
/// resources, sized to a target by growing env lists.
struct PodGenerator {
    private var random: SplitMix64

    init(seed: UInt64) { random = SplitMix64(seed: seed) }

    private static let apps = ["checkout", "payments", "ledger", "search", "catalog", "auth", "gateway", "orders",
                               "billing", "inventory", "notifier", "recommender", "analytics", "reports", "media", "profile"]
    private static let sidecars = ["envoy", "fluent-bit", "otel-collector", "vault-agent", "cloud-sql-proxy", "config-reloader"]

    /// A pod owned by `owner`, in `namespace`, running as `serviceAccount`, of at least `targetBytes` serialized.
    mutating func pod(owner: PodOwner, namespace: String, serviceAccount: String, targetBytes: Int, containerCount: Int? = nil) -> JSONValue {
        let app = random.pick(Self.apps) + "-" + random.string(count: 3, alphabet: "abcdefghijklmnopqrstuvwxyz")
        let ownerUID = random.uuid()
        var labels: [(String, JSONValue)] = [
            ("app.kubernetes.io/name", .string(app)),
            ("app.kubernetes.io/part-of", .string(namespace)),
            ("app.kubernetes.io/version", .string("\(Int.random(in: 1...9, using: &random)).\(Int.random(in: 0...40, using: &random)).\(Int.random(in: 0...9, using: &random))")),
        ]
        var metadata: [(String, JSONValue)] = []
        var ownerReference: [(String, JSONValue)]
        switch owner {
        case .deployment:
            let hash = random.string(count: 10)
            labels.append(("pod-template-hash", .string(hash)))
            metadata.append(("generateName", .string("\(app)-\(hash)-")))
            ownerReference = [("apiVersion", .string("apps/v1")), ("kind", .string("ReplicaSet")), ("name", .string("\(app)-\(hash)"))]
        case .statefulSet:
            let ordinal = Int.random(in: 0...5, using: &random)
            labels.append(("controller-revision-hash", .string("\(app)-\(random.string(count: 10))")))
            labels.append(("statefulset.kubernetes.io/pod-name", .string("\(app)-\(ordinal)")))
            labels.append(("apps.kubernetes.io/pod-index", .string(String(ordinal))))
            metadata.append(("name", .string("\(app)-\(ordinal)")))
            metadata.append(("generateName", .string("\(app)-")))
            ownerReference = [("apiVersion", .string("apps/v1")), ("kind", .string("StatefulSet")), ("name", .string(app))]
        case .job:
            labels.append(("batch.kubernetes.io/controller-uid", .string(ownerUID)))
            labels.append(("batch.kubernetes.io/job-name", .string(app)))
            labels.append(("controller-uid", .string(ownerUID)))
            labels.append(("job-name", .string(app)))
            metadata.append(("generateName", .string("\(app)-")))
            ownerReference = [("apiVersion", .string("batch/v1")), ("kind", .string("Job")), ("name", .string(app))]
        }
        ownerReference += [("uid", .string(ownerUID)), ("controller", .bool(true)), ("blockOwnerDeletion", .bool(true))]
        metadata += [
            ("namespace", .string(namespace)),
            ("labels", .object(labels)),
            ("annotations", .object([
                ("kubectl.kubernetes.io/restartedAt", .string("2026-11-\(10 + Int.random(in: 0...15, using: &random))T08:00:00Z")),
                ("prometheus.io/scrape", .string("true")),
                ("prometheus.io/port", .string(String(Int.random(in: 9000...9999, using: &random)))),
            ])),
            ("ownerReferences", .array([.object(ownerReference)])),
            ("managedFields", .array([.object([
                ("manager", .string("kube-controller-manager")), ("operation", .string("Update")), ("apiVersion", .string("v1")),
                ("time", .string("2026-11-26T16:35:12Z")), ("fieldsType", .string("FieldsV1")),
                ("fieldsV1", .object([("f:metadata", .object([("f:generateName", .object([])), ("f:labels", .object([(".", .object([]))]))]))])),
            ])])),
        ]

        // Small targets get a lean pod (one container, no init containers) so 2 KB is reachable.
        let lean = targetBytes < 6 * 1024
        let count = containerCount ?? (lean ? 1 : drawContainerCount())
        let tokenVolume = "kube-api-access-\(random.string(count: 5))"
        var volumes: [JSONValue] = [Self.serviceAccountTokenVolume(tokenVolume)]
        var containers: [JSONValue] = []
        for index in 0..<count {
            let name = index == 0 ? app : random.pick(Self.sidecars) + "-\(index)"
            containers.append(container(name: name, app: app, main: index == 0, lean: lean, tokenVolume: tokenVolume, volumes: &volumes))
        }
        var initContainers: [JSONValue] = []
        for index in 0..<(lean ? 0 : Int.random(in: 0...2, using: &random)) {
            initContainers.append(container(name: index == 0 ? "migrate" : "wait-for-deps-\(index)", app: app, main: false, lean: lean,
                                            tokenVolume: tokenVolume, volumes: &volumes))
        }
        if owner == .statefulSet {
            volumes.append(.object([("name", .string("data")), ("persistentVolumeClaim", .object([("claimName", .string("data-\(app)-0"))]))]))
        }

        var spec: [(String, JSONValue)] = [("volumes", .array(volumes))]
        if !initContainers.isEmpty { spec.append(("initContainers", .array(initContainers))) }
        spec += [
            ("containers", .array(containers)),
            ("restartPolicy", .string(owner == .job ? "OnFailure" : "Always")),
            ("terminationGracePeriodSeconds", .int(30)),
            ("dnsPolicy", .string("ClusterFirst")),
            ("serviceAccountName", .string(serviceAccount)),
            ("serviceAccount", .string(serviceAccount)),
            ("securityContext", .object([("runAsNonRoot", .bool(true)), ("fsGroup", .int(2000))])),
            ("schedulerName", .string("default-scheduler")),
            ("tolerations", .array([
                Self.toleration("node.kubernetes.io/not-ready"), Self.toleration("node.kubernetes.io/unreachable"),
            ])),
            ("priority", .int(0)),
            ("enableServiceLinks", .bool(true)),
            ("preemptionPolicy", .string("PreemptLowerPriority")),
        ]
        if owner == .statefulSet {
            spec += [("hostname", .string("\(app)-0")), ("subdomain", .string(app))]
        }
        var pod: [(String, JSONValue)] = [("kind", .string("Pod")), ("apiVersion", .string("v1")), ("metadata", .object(metadata)),
                                          ("spec", .object(spec)), ("status", .object([]))]
        grow(&pod, to: targetBytes)
        return .object(pod)
    }

    /// 1 to 20 containers, most pods having one to three.
    private mutating func drawContainerCount() -> Int {
        let roll = Double.random(in: 0..<1, using: &random)
        if roll < 0.5 { return 1 }
        if roll < 0.8 { return Int.random(in: 2...3, using: &random) }
        if roll < 0.95 { return Int.random(in: 4...8, using: &random) }
        return Int.random(in: 9...20, using: &random)
    }

    private mutating func container(name: String, app: String, main: Bool, lean: Bool, tokenVolume: String, volumes: inout [JSONValue]) -> JSONValue {
        var env: [JSONValue] = []
        for _ in 0..<(lean ? 1 : Int.random(in: 2...8, using: &random)) { env.append(environmentVariable()) }
        var mounts: [JSONValue] = []
        if !lean, random.chance(0.6) {
            let volume = "\(name)-config"
            volumes.append(.object([("name", .string(volume)), ("configMap", .object([("name", .string(volume)), ("defaultMode", .int(420))]))]))
            mounts.append(.object([("name", .string(volume)), ("readOnly", .bool(true)), ("mountPath", .string("/etc/\(name)"))]))
        }
        if !lean, random.chance(0.3) {
            let volume = "\(name)-scratch"
            volumes.append(.object([("name", .string(volume)), ("emptyDir", .object([("sizeLimit", .string("1Gi"))]))]))
            mounts.append(.object([("name", .string(volume)), ("mountPath", .string("/tmp"))]))
        }
        mounts.append(.object([("name", .string(tokenVolume)), ("readOnly", .bool(true)),
                               ("mountPath", .string("/var/run/secrets/kubernetes.io/serviceaccount"))]))
        let port = Int.random(in: 8000...8999, using: &random)
        var fields: [(String, JSONValue)] = [
            ("name", .string(name)),
            ("image", .string("registry.example.internal/\(app)/\(name):\(Int.random(in: 1...30, using: &random)).\(Int.random(in: 0...9, using: &random))")),
        ]
        if random.chance(0.5) {
            fields.append(("command", .array([.string("/bin/\(name)")])))
            fields.append(("args", .array([.string("--port=\(port)"), .string("--log-format=json")])))
        }
        if main {
            fields.append(("ports", .array([
                .object([("name", .string("http")), ("containerPort", .int(port)), ("protocol", .string("TCP"))]),
                .object([("name", .string("metrics")), ("containerPort", .int(9102)), ("protocol", .string("TCP"))]),
            ])))
        }
        fields += [
            ("env", .array(env)),
            ("resources", .object([
                ("limits", .object([("cpu", .string("\(Int.random(in: 1...4, using: &random))")), ("memory", .string("\(Int.random(in: 1...8, using: &random))Gi"))])),
                ("requests", .object([("cpu", .string("\(Int.random(in: 1...9, using: &random) * 100)m")), ("memory", .string("\(Int.random(in: 1...8, using: &random) * 128)Mi"))])),
            ])),
            ("volumeMounts", .array(mounts)),
        ]
        if main {
            fields.append(("livenessProbe", Self.probe(path: "/healthz", port: port, initialDelay: 10)))
            fields.append(("readinessProbe", Self.probe(path: "/ready", port: port, initialDelay: 2)))
            if random.chance(0.3) { fields.append(("startupProbe", Self.probe(path: "/healthz", port: port, initialDelay: 0))) }
        }
        fields += [
            ("terminationMessagePath", .string("/dev/termination-log")),
            ("terminationMessagePolicy", .string("File")),
            ("imagePullPolicy", .string("IfNotPresent")),
            ("securityContext", .object([
                ("capabilities", .object([("drop", .array([.string("ALL")]))])),
                ("readOnlyRootFilesystem", .bool(true)), ("allowPrivilegeEscalation", .bool(false)),
            ])),
        ]
        return .object(fields)
    }

    private mutating func environmentVariable() -> JSONValue {
        let name = random.pick(["LOG_LEVEL", "FEATURE", "DB_HOST", "CACHE_URL", "QUEUE", "TIMEOUT", "REGION_HINT", "TRACE_RATE"])
            + "_" + random.string(count: 4, alphabet: "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        switch Int.random(in: 0..<10, using: &random) {
        case 0..<6:
            return .object([("name", .string(name)), ("value", .string(random.string(count: Int.random(in: 4...60, using: &random))))])
        case 6:
            return .object([("name", .string(name)), ("valueFrom", .object([("secretKeyRef", .object([
                ("name", .string("secret-\(random.string(count: 5))")), ("key", .string("password")),
            ]))]))])
        case 7:
            return .object([("name", .string(name)), ("valueFrom", .object([("configMapKeyRef", .object([
                ("name", .string("config-\(random.string(count: 5))")), ("key", .string("value")), ("optional", .bool(true)),
            ]))]))])
        default:
            return .object([("name", .string(name)), ("valueFrom", .object([("fieldRef", .object([
                ("apiVersion", .string("v1")), ("fieldPath", .string(random.pick(["metadata.name", "metadata.namespace", "status.podIP", "spec.nodeName"]))),
            ]))]))])
        }
    }

    /// Appends env entries to the containers, round robin, until the pod serializes to `targetBytes`.
    private mutating func grow(_ pod: inout [(String, JSONValue)], to targetBytes: Int) {
        var size = JSONValue.object(pod).serialized.utf8.count
        guard size < targetBytes,
              let specIndex = pod.firstIndex(where: { $0.0 == "spec" }),
              case var .object(spec) = pod[specIndex].1,
              let containersIndex = spec.firstIndex(where: { $0.0 == "containers" }),
              case var .array(containers) = spec[containersIndex].1
        else { return }
        var additions = [[JSONValue]](repeating: [], count: containers.count)
        var next = 0
        while size < targetBytes {
            let variable = environmentVariable()
            size += variable.serialized.utf8.count + 1
            additions[next].append(variable)
            next = (next + 1) % containers.count
        }
        for index in containers.indices {
            guard case var .object(fields) = containers[index],
                  let envIndex = fields.firstIndex(where: { $0.0 == "env" }),
                  case let .array(env) = fields[envIndex].1 else { continue }
            fields[envIndex].1 = .array(env + additions[index])
            containers[index] = .object(fields)
        }
        spec[containersIndex].1 = .array(containers)
        pod[specIndex].1 = .object(spec)
    }

    private static func serviceAccountTokenVolume(_ name: String) -> JSONValue {
        .object([("name", .string(name)), ("projected", .object([
            ("sources", .array([
                .object([("serviceAccountToken", .object([("expirationSeconds", .int(3607)), ("path", .string("token"))]))]),
                .object([("configMap", .object([("name", .string("kube-root-ca.crt")),
                                                ("items", .array([.object([("key", .string("ca.crt")), ("path", .string("ca.crt"))])]))]))]),
                .object([("downwardAPI", .object([("items", .array([.object([
                    ("path", .string("namespace")),
                    ("fieldRef", .object([("apiVersion", .string("v1")), ("fieldPath", .string("metadata.namespace"))])),
                ])]))]))]),
            ])),
            ("defaultMode", .int(420)),
        ]))])
    }

    private static func probe(path: String, port: Int, initialDelay: Int) -> JSONValue {
        .object([
            ("httpGet", .object([("path", .string(path)), ("port", .int(port)), ("scheme", .string("HTTP"))])),
            ("initialDelaySeconds", .int(initialDelay)), ("timeoutSeconds", .int(2)), ("periodSeconds", .int(10)),
            ("successThreshold", .int(1)), ("failureThreshold", .int(3)),
        ])
    }

    private static func toleration(_ key: String) -> JSONValue {
        .object([("key", .string(key)), ("operator", .string("Exists")), ("effect", .string("NoExecute")), ("tolerationSeconds", .int(300))])
    }
}

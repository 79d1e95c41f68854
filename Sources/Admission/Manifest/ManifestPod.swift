import Yams

/// The pod in a manifest document: a Pod itself, or the pod template of a workload, decoded by
/// the webhook's own decoder (`Pod.decode`), so `irsa-webhook mutate` sees what the webhook sees.
public struct ManifestPod {
    /// Where each kind keeps its pod: the API group its `apiVersion` must name, and the
    /// reference tokens of the pod (template) in the object.
    static let locations: [String: (group: String, path: [String])] = [
        "Pod": ("", []),
        "Deployment": ("apps", ["spec", "template"]),
        "StatefulSet": ("apps", ["spec", "template"]),
        "DaemonSet": ("apps", ["spec", "template"]),
        "ReplicaSet": ("apps", ["spec", "template"]),
        "Job": ("batch", ["spec", "template"]),
        "CronJob": ("batch", ["spec", "jobTemplate", "spec", "template"]),
    ]

    /// The pod label the shipped webhook configuration's `objectSelector` excludes with the
    /// value "true": such a pod is never sent to the webhook.
    public static let optOutLabel = "vultr.com/skip-irsa-webhook"

    /// The reference tokens of the pod in the document.
    public var path: [String]
    /// What the mutation reads from it.
    public var pod: Pod
    /// The ServiceAccount its pods run as: the pod's `serviceAccountName` in the object's namespace.
    public var serviceAccount: ServiceAccountKey
    /// Whether the pod carries `optOutLabel` set to "true".
    public var isOptedOut: Bool
    /// The init containers and containers with `envFrom`, whose variables the webhook cannot see
    /// (and Kubernetes lets `env`, where the webhook adds its own, win over them).
    public var containersWithEnvFrom: Set<String> = []

    /// The pod of `document`, or nil when its kind holds none (it passes through unchanged).
    ///
    /// - Parameter defaultNamespace: The namespace of an object that names none.
    /// - Throws: `ManifestFieldError` when the document is not an object with a `kind`, or its
    ///   pod is missing or has a field of the wrong type.
    public init?(_ document: ManifestDocument, defaultNamespace: String, configuration: PatchConfig) throws(ManifestFieldError) {
        let node = document.node
        guard node.mapping != nil else { throw ManifestFieldError("", "not a mapping (an object)") }
        guard let kind = node["kind"]?.string, !kind.isEmpty else { throw ManifestFieldError("kind", "missing") }
        guard let location = Self.locations[kind] else { return nil }
        let apiVersion = node["apiVersion"]?.string ?? ""
        let group = apiVersion.contains("/") ? String(apiVersion.prefix { $0 != "/" }) : ""
        guard group == location.group else { return nil }

        var template = node
        for (depth, token) in location.path.enumerated() {
            guard let child = template[token], child.mapping != nil else {
                throw ManifestFieldError(location.path.prefix(depth + 1).joined(separator: "."), "missing or not a mapping")
            }
            template = child
        }
        let prefix = location.path.joined(separator: ".")
        let (json, locations) = try NodeJSON.located(template)
        do {
            pod = try Pod.decode(json: json, keys: configuration.podDecodingKeys)
        } catch {
            let field = NodeJSON.path(at: error.offset, in: locations)
            throw ManifestFieldError([prefix, field].filter { !$0.isEmpty }.joined(separator: "."), "not what a Pod has here (\(error.reason))")
        }
        path = location.path
        var namespace = node["metadata"]?["namespace"]?.string ?? ""
        if namespace.isEmpty { namespace = defaultNamespace }
        serviceAccount = ServiceAccountKey(namespace: namespace, name: pod.serviceAccountName)
        isOptedOut = template["metadata"]?["labels"]?[Self.optOutLabel]?.string == "true"
        for list in ["initContainers", "containers"] {
            for container in template["spec"]?[list]?.sequence ?? [] where container["envFrom"]?.sequence?.isEmpty == false {
                if let name = container["name"]?.string { containersWithEnvFrom.insert(name) }
            }
        }
    }
}

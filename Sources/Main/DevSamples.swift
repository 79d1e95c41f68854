import Foundation

/// Dev mode's sample ServiceAccounts and AdmissionReview: the repository's `deploy/dev/` files
/// when run from a checkout, else built-in ones written beside the dev certificate, so that an
/// installed binary's `irsa-webhook --dev` works from any directory. Every path is absolute, so
/// the printed command works from any directory too.
enum DevSamples {
    /// The ServiceAccounts dev mode serves.
    static func serviceAccountsPath() -> String {
        path(of: "serviceaccounts.yaml")
    }

    /// The review the printed command posts.
    static func reviewPath() -> String {
        path(of: "review.json")
    }

    /// The script the printed command pipes the answer through.
    static let showPodScript = DevCertificate.directory + "/show-pod.py"

    /// Writes the built-in samples that stand in for missing repository files, and the script.
    static func writeBuiltIns() throws(ConfigurationError) {
        var files = [(showPodScript, showPod)]
        if serviceAccountsPath().hasPrefix(DevCertificate.directory) { files.append((serviceAccountsPath(), builtInServiceAccounts)) }
        if reviewPath().hasPrefix(DevCertificate.directory) { files.append((reviewPath(), builtInReview)) }
        for (path, text) in files {
            do {
                try FileManager.default.createDirectory(atPath: DevCertificate.directory, withIntermediateDirectories: true)
                try text.write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw ConfigurationError("dev mode: cannot write \(path): \(error)")
            }
        }
    }

    /// `deploy/dev/<name>` made absolute when it exists here, else the built-in copy's path.
    private static func path(of name: String) -> String {
        let repository = FileManager.default.currentDirectoryPath + "/deploy/dev/" + name
        return FileManager.default.fileExists(atPath: repository) ? repository : DevCertificate.directory + "/" + name
    }

    private static let builtInServiceAccounts = """
        # irsa-webhook --dev's built-in ServiceAccounts (deploy/dev/serviceaccounts.yaml was not found).
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: app-sa
          namespace: default
          annotations:
            vultr.com/role-arn: arn:aws:iam::111122223333:role/app-sa-role
        ---
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: plain-sa
          namespace: default

        """

    private static let builtInReview = """
        {"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"0d6c3f5e-4b7a-4e58-9c1d-2a4b5c6d7e8f",\
        "kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},\
        "namespace":"default","operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod",\
        "metadata":{"name":"app","namespace":"default"},"spec":{"serviceAccountName":"app-sa",\
        "containers":[{"name":"app","image":"registry.example/app:1.0"}]}}}}

        """

    /// Applies the answer's JSON Patch (the webhook only adds) to the review's pod, and prints
    /// what the pod gets: each container's env and mounts, and the volumes.
    private static let showPod = #"""
        import base64, json, sys
        pod = json.load(open(sys.argv[1]))["request"]["object"]
        response = json.load(sys.stdin)["response"]
        for warning in response.get("warnings", []): print("warning:", warning)
        if "patch" not in response: sys.exit(print("not mutated:", json.dumps(response)))
        for operation in json.loads(base64.b64decode(response["patch"])):
            *parents, last = [part.replace("~1", "/").replace("~0", "~") for part in operation["path"].split("/")[1:]]
            node = pod
            for part in parents: node = node[int(part)] if isinstance(node, list) else node[part]
            if isinstance(node, list) and last == "-": node.append(operation["value"])
            elif isinstance(node, list): node.insert(int(last), operation["value"])
            else: node[last] = operation["value"]
        spec = pod["spec"]
        containers = spec.get("initContainers", []) + spec["containers"]
        print(json.dumps({"containers": [{key: c.get(key) for key in ("name", "env", "volumeMounts")} for c in containers],
                          "volumes": spec.get("volumes")}, indent=2))

        """#
}

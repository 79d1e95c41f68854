/// Checks a patched pod against the IRSA mutation's specification, independently of how the
/// patch was written: the original pod is kept as a prefix of every array, the additions are
/// exactly the expected ones (no volume when every container is left untouched), and nothing
/// outside `env`, `volumeMounts` and `volumes` changes.
public struct MutationInvariants: Sendable {
    /// Where the token is mounted.
    public var mountPath: String
    /// Every variable the webhook should set, with its value, where the container lacks it (a
    /// region variable whose companion the container sets refers to it instead).
    public var expectedEnv: [String: String]
    /// Audience and lifetime of the token volume, when one should be added.
    public var token: (audience: String, expirationSeconds: Int)?
    /// Names of containers that must come out unchanged.
    public var untouched: Set<String>

    /// The name of the projected token volume and its mounts.
    public static let volumeName = "vultr-irsa-token"
    /// Each region variable and its companion: added next to a companion the container sets
    /// itself, a region variable refers to it (`$(AWS_REGION)`), so SDKs reading either agree.
    private static let regionCompanions = ["AWS_REGION": "AWS_DEFAULT_REGION", "AWS_DEFAULT_REGION": "AWS_REGION"]

    public init(mountPath: String, expectedEnv: [String: String], token: (audience: String, expirationSeconds: Int)?,
                untouched: Set<String> = []) {
        self.mountPath = mountPath
        self.expectedEnv = expectedEnv
        self.token = token
        self.untouched = untouched
    }

    /// Every way `patched` breaks the specification for `original`; empty when it conforms.
    public func violations(original: JSONValue, patched: JSONValue) -> [String] {
        var found: [String] = []
        if Self.stripped(original) != Self.stripped(patched) { found.append("only env, volumeMounts and volumes may change") }
        let containerNames = ["initContainers", "containers"].flatMap { original["spec"]?[$0]?.arrayValue ?? [] }
            .map { $0["name"]?.stringValue ?? "" }
        // A volume only when some container is to use it.
        let volumeExpected = containerNames.contains { !untouched.contains($0) }
        checkVolumes(original: original["spec"]?["volumes"]?.arrayValue, patched: patched["spec"]?["volumes"]?.arrayValue,
                     token: volumeExpected ? token : nil, &found)
        for field in ["initContainers", "containers"] {
            let before = original["spec"]?[field]?.arrayValue ?? []
            let after = patched["spec"]?[field]?.arrayValue ?? []
            if before.count != after.count { found.append("\(field): \(before.count) before, \(after.count) after") }
            for (old, new) in zip(before, after) { checkContainer(old, new, &found) }
        }
        if original["spec"]?["ephemeralContainers"] != patched["spec"]?["ephemeralContainers"] {
            found.append("ephemeral containers are never touched")
        }
        return found
    }

    private func checkVolumes(original: [JSONValue]?, patched: [JSONValue]?, token: (audience: String, expirationSeconds: Int)?,
                              _ found: inout [String]) {
        let before = original ?? []
        let after = patched ?? []
        if Array(after.prefix(before.count)) != before { found.append("existing volumes stay in place") }
        let added = Array(after.dropFirst(before.count))
        if before.contains(where: { $0["name"] == .string(Self.volumeName) }) {
            if !added.isEmpty { found.append("a volume with our name exists: nothing added") }
            return
        }
        guard let token else {
            if !added.isEmpty { found.append("a volume was added but none is expected") }
            return
        }
        let expected: JSONValue = ["name": .string(Self.volumeName), "projected": ["sources": [["serviceAccountToken": [
            "audience": .string(token.audience), "expirationSeconds": .int(token.expirationSeconds), "path": "token",
        ]]]]]
        if added != [expected] { found.append("added volumes \(JSONValue.array(added).serialized), expected \(expected.serialized)") }
    }

    private func checkContainer(_ old: JSONValue, _ new: JSONValue, _ found: inout [String]) {
        let name = old["name"]?.stringValue ?? ""
        if untouched.contains(name) {
            if old != new { found.append("container \(name) must be untouched") }
            return
        }
        let oldEnv = old["env"]?.arrayValue ?? []
        let newEnv = new["env"]?.arrayValue ?? []
        if Array(newEnv.prefix(oldEnv.count)) != oldEnv { found.append("\(name): existing env stays in place") }
        let defined = Set(oldEnv.compactMap { $0["name"]?.stringValue })
        let expectedAdded = expectedEnv.keys.filter { !defined.contains($0) }.sorted()
        let added = newEnv.dropFirst(oldEnv.count)
        let addedNames = added.compactMap { $0["name"]?.stringValue }.sorted()
        if addedNames != expectedAdded { found.append("\(name): added variables \(addedNames), expected \(expectedAdded)") }
        for entry in added {
            let variable = entry["name"]?.stringValue ?? ""
            // A region variable whose companion the container sets itself follows it.
            let companion = Self.regionCompanions[variable].flatMap { defined.contains($0) ? "$(\($0))" : nil }
            if entry != ["name": .string(variable), "value": .string(companion ?? expectedEnv[variable] ?? "?")] {
                found.append("\(name): variable \(entry.serialized)")
            }
        }
        let oldMounts = old["volumeMounts"]?.arrayValue ?? []
        let newMounts = new["volumeMounts"]?.arrayValue ?? []
        if Array(newMounts.prefix(oldMounts.count)) != oldMounts { found.append("\(name): existing mounts stay in place") }
        let addedMounts = Array(newMounts.dropFirst(oldMounts.count))
        if oldMounts.contains(where: { $0["mountPath"] == .string(mountPath) }) {
            if !addedMounts.isEmpty { found.append("\(name): the mount path is taken: no mount added") }
        } else if addedMounts != [["name": .string(Self.volumeName), "mountPath": .string(mountPath), "readOnly": true]] {
            found.append("\(name): added mounts \(JSONValue.array(addedMounts).serialized)")
        }
    }

    /// The pod without the fields the mutation may change (null and absent arrays compare equal).
    private static func stripped(_ pod: JSONValue) -> JSONValue {
        var pod = pod
        guard var spec = pod["spec"] else { return pod }
        spec["volumes"] = .null
        for field in ["initContainers", "containers"] {
            guard let containers = spec[field]?.arrayValue else { continue }
            spec[field] = .array(containers.map { container in
                var container = container
                container["env"] = .null
                container["volumeMounts"] = .null
                return container
            })
        }
        pod["spec"] = spec
        return pod
    }
}

import Testing

/// Checks a patched pod against the mutation's specification, independently of how the patch
/// was written: the original pod is kept as a prefix of every array, the additions are exactly
/// the expected ones, and nothing else changes.
struct MutationInvariants {
    /// Where the token is mounted.
    var mountPath: String
    /// Every variable the webhook should set, with its value, where the container lacks it.
    var expectedEnv: [String: String]
    /// Audience and lifetime of the token volume, when one should be added.
    var token: (audience: String, expirationSeconds: Int)?
    /// Names of containers that must come out unchanged.
    var untouched: Set<String> = []

    func check(original: JSONValue, patched: JSONValue, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(Self.stripped(original) == Self.stripped(patched), "only env, volumeMounts and volumes may change", sourceLocation: sourceLocation)
        checkVolumes(original: original["spec"]?["volumes"]?.arrayValue, patched: patched["spec"]?["volumes"]?.arrayValue, sourceLocation)
        for field in ["initContainers", "containers"] {
            let before = original["spec"]?[field]?.arrayValue ?? []
            let after = patched["spec"]?[field]?.arrayValue ?? []
            #expect(before.count == after.count, sourceLocation: sourceLocation)
            for (old, new) in zip(before, after) { checkContainer(old, new, sourceLocation) }
        }
        #expect(original["spec"]?["ephemeralContainers"] == patched["spec"]?["ephemeralContainers"],
                "ephemeral containers are never touched", sourceLocation: sourceLocation)
    }

    private func checkVolumes(original: [JSONValue]?, patched: [JSONValue]?, _ sourceLocation: SourceLocation) {
        let before = original ?? []
        let after = patched ?? []
        #expect(Array(after.prefix(before.count)) == before, "existing volumes stay in place", sourceLocation: sourceLocation)
        let added = Array(after.dropFirst(before.count))
        if before.contains(where: { $0["name"] == "vultr-irsa-token" }) {
            #expect(added.isEmpty, "a volume with our name exists: nothing added", sourceLocation: sourceLocation)
            return
        }
        guard let token else {
            Issue.record("a token volume was added but the fixture expects none", sourceLocation: sourceLocation)
            return
        }
        let expected: JSONValue = ["name": "vultr-irsa-token", "projected": ["sources": [["serviceAccountToken": [
            "audience": .string(token.audience), "expirationSeconds": .number(Double(token.expirationSeconds)), "path": "token",
        ]]]]]
        #expect(added == [expected], sourceLocation: sourceLocation)
    }

    private func checkContainer(_ old: JSONValue, _ new: JSONValue, _ sourceLocation: SourceLocation) {
        let name = old["name"]?.stringValue ?? ""
        if untouched.contains(name) {
            #expect(old == new, "container \(name) must be untouched", sourceLocation: sourceLocation)
            return
        }
        let oldEnv = old["env"]?.arrayValue ?? []
        let newEnv = new["env"]?.arrayValue ?? []
        #expect(Array(newEnv.prefix(oldEnv.count)) == oldEnv, "\(name): existing env stays in place", sourceLocation: sourceLocation)
        let defined = Set(oldEnv.compactMap { $0["name"]?.stringValue })
        let expectedAdded = expectedEnv.keys.filter { !defined.contains($0) }.sorted()
        let added = newEnv.dropFirst(oldEnv.count)
        #expect(added.compactMap { $0["name"]?.stringValue }.sorted() == expectedAdded, "\(name): added variables", sourceLocation: sourceLocation)
        for entry in added {
            let variable = entry["name"]?.stringValue ?? ""
            #expect(entry == ["name": .string(variable), "value": .string(expectedEnv[variable] ?? "?")], "\(name): \(variable)", sourceLocation: sourceLocation)
        }
        let oldMounts = old["volumeMounts"]?.arrayValue ?? []
        let newMounts = new["volumeMounts"]?.arrayValue ?? []
        #expect(Array(newMounts.prefix(oldMounts.count)) == oldMounts, "\(name): existing mounts stay in place", sourceLocation: sourceLocation)
        let addedMounts = Array(newMounts.dropFirst(oldMounts.count))
        if oldMounts.contains(where: { $0["mountPath"] == .string(mountPath) }) {
            #expect(addedMounts.isEmpty, "\(name): the mount path is taken: no mount added", sourceLocation: sourceLocation)
        } else {
            #expect(addedMounts == [["name": "vultr-irsa-token", "mountPath": .string(mountPath), "readOnly": true]], "\(name): mount", sourceLocation: sourceLocation)
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

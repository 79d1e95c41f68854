/// The IRSA mutation of one pod: a pure function from what the pod has and the merged settings
/// to the JSON Patch that adds what is missing.
///
/// - The projected token volume `PatchConfig.volumeName` is added unless a volume of that name exists.
/// - Every init container and container (not ephemeral ones), except the skipped ones, gets each
///   variable it does not already define, and a read-only mount of the volume unless some mount
///   already uses the token mount path.
/// - Absent (or null) arrays are added whole; existing ones are appended to with `/-`, one
///   operation per element, so the patch applies to every pod and never depends on its own order.
///
/// Applying the patch and mutating again yields no operation.
public enum PodPatch {
    /// The operations that give `pod` the settings' credentials.
    public static func patch(for pod: Pod, settings: PatchSettings) -> JSONPatch {
        let fragments = Fragments(settings)
        var patch = JSONPatch()
        if !pod.hasTokenVolume {
            if pod.hasVolumes {
                patch.add("/spec/volumes/-") { fragments.write(fragments.volume, to: &$0) }
            } else {
                patch.add("/spec/volumes") { writer in
                    writer.raw("[")
                    fragments.write(fragments.volume, to: &writer)
                    writer.raw("]")
                }
            }
        }
        for (index, container) in pod.initContainers.enumerated() where !settings.skippedContainers.contains(container.name) {
            patchContainer(container, "/spec/initContainers/", index, fragments, &patch)
        }
        for (index, container) in pod.containers.enumerated() where !settings.skippedContainers.contains(container.name) {
            patchContainer(container, "/spec/containers/", index, fragments, &patch)
        }
        return patch
    }

    /// The JSON values the patch repeats, rendered once per pod: one env entry per variable,
    /// the mount and the volume.
    private struct Fragments {
        /// The variables to set.
        var wanted: AWSVariables = [.roleARN, .webIdentityTokenFile]
        /// All fragments, back to back.
        var rendered: [UInt8]
        /// Where the env entry of each variable of `AWSVariables.all` is in `rendered` (empty when not wanted).
        var entries: [Range<Int>] = []
        var mount: Range<Int>
        var volume: Range<Int>

        init(_ settings: PatchSettings) {
            if settings.regionalSTS { wanted.insert(.stsRegionalEndpoints) }
            if settings.stsEndpoint != nil { wanted.insert(.endpointURLSTS) }
            if settings.region != nil { wanted.formUnion([.region, .defaultRegion]) }
            let path = settings.tokenMountPath
            let values = [settings.roleARN, path.hasSuffix("/") ? path + "token" : path + "/token", "regional",
                          settings.stsEndpoint ?? "", settings.region ?? "", settings.region ?? ""]
            var writer = JSONWriter(capacity: 512)
            for (position, entry) in AWSVariables.all.enumerated() {
                let start = writer.count
                if wanted.contains(entry.variable) {
                    writer.raw("{\"name\":\"")
                    writer.raw(entry.name)
                    writer.raw("\",\"value\":")
                    writer.string(values[position])
                    writer.raw("}")
                }
                entries.append(start..<writer.count)
            }
            var start = writer.count
            writer.raw("{\"name\":\"")
            writer.raw(PatchConfig.volumeName)
            writer.raw("\",\"mountPath\":")
            writer.string(settings.tokenMountPath)
            writer.raw(",\"readOnly\":true}")
            mount = start..<writer.count
            start = writer.count
            writer.raw("{\"name\":\"")
            writer.raw(PatchConfig.volumeName)
            writer.raw("\",\"projected\":{\"sources\":[{\"serviceAccountToken\":{\"audience\":")
            writer.string(settings.audience)
            writer.raw(",\"expirationSeconds\":")
            writer.integer(settings.tokenExpiration)
            writer.raw(",\"path\":\"token\"}}]}}")
            volume = start..<writer.count
            rendered = writer.finish()
        }

        func write(_ fragment: Range<Int>, to writer: inout JSONWriter) {
            writer.raw(rendered[fragment])
        }
    }

    private static func patchContainer(_ container: Pod.Container, _ arrayPath: StaticString, _ index: Int,
                                       _ fragments: Fragments, _ patch: inout JSONPatch) {
        let missing = fragments.wanted.subtracting(container.definedVariables)
        if !missing.isEmpty {
            if container.hasEnv {
                for (position, entry) in AWSVariables.all.enumerated() where missing.contains(entry.variable) {
                    patch.add(arrayPath, index: index, "/env/-") { fragments.write(fragments.entries[position], to: &$0) }
                }
            } else {
                patch.add(arrayPath, index: index, "/env") { writer in
                    writer.raw("[")
                    var first = true
                    for (position, entry) in AWSVariables.all.enumerated() where missing.contains(entry.variable) {
                        if !first { writer.raw(",") }
                        first = false
                        fragments.write(fragments.entries[position], to: &writer)
                    }
                    writer.raw("]")
                }
            }
        }
        if !container.hasTokenMount {
            if container.hasVolumeMounts {
                patch.add(arrayPath, index: index, "/volumeMounts/-") { fragments.write(fragments.mount, to: &$0) }
            } else {
                patch.add(arrayPath, index: index, "/volumeMounts") { writer in
                    writer.raw("[")
                    fragments.write(fragments.mount, to: &writer)
                    writer.raw("]")
                }
            }
        }
    }
}

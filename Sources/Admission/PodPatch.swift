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
        var patch = JSONPatch()
        if !pod.hasTokenVolume {
            if pod.hasVolumes {
                patch.add("/spec/volumes/-") { writeVolume(&$0, settings) }
            } else {
                patch.add("/spec/volumes") { writer in
                    writer.raw("[")
                    writeVolume(&writer, settings)
                    writer.raw("]")
                }
            }
        }
        let variables = Variables(settings)
        for (index, container) in pod.initContainers.enumerated() where !settings.skippedContainers.contains(container.name) {
            patchContainer(container, "/spec/initContainers/", index, variables, settings, &patch)
        }
        for (index, container) in pod.containers.enumerated() where !settings.skippedContainers.contains(container.name) {
            patchContainer(container, "/spec/containers/", index, variables, settings, &patch)
        }
        return patch
    }

    /// The variables to set and their values.
    private struct Variables {
        var wanted: AWSVariables = [.roleARN, .webIdentityTokenFile]
        var values: [String] = []

        init(_ settings: PatchSettings) {
            let tokenFile = settings.tokenMountPath.hasSuffix("/") ? settings.tokenMountPath + "token" : settings.tokenMountPath + "/token"
            values = [settings.roleARN, tokenFile, "regional", settings.stsEndpoint ?? "", settings.region ?? "", settings.region ?? ""]
            if settings.regionalSTS { wanted.insert(.stsRegionalEndpoints) }
            if settings.stsEndpoint != nil { wanted.insert(.endpointURLSTS) }
            if settings.region != nil { wanted.formUnion([.region, .defaultRegion]) }
        }

        /// Writes `{"name":…,"value":…}` for each of `missing`, comma-separated.
        func write(_ missing: AWSVariables, to writer: inout JSONWriter, separatedBy separator: StaticString) {
            var first = true
            for (position, entry) in AWSVariables.all.enumerated() where missing.contains(entry.variable) {
                if !first { writer.raw(separator) }
                first = false
                writeVariable(position, entry.name, to: &writer)
            }
        }

        func writeVariable(_ position: Int, _ name: StaticString, to writer: inout JSONWriter) {
            writer.raw("{\"name\":\"")
            writer.raw(name)
            writer.raw("\",\"value\":")
            writer.string(values[position])
            writer.raw("}")
        }
    }

    private static func patchContainer(_ container: Pod.Container, _ arrayPath: StaticString, _ index: Int,
                                       _ variables: Variables, _ settings: PatchSettings, _ patch: inout JSONPatch) {
        let missing = variables.wanted.subtracting(container.definedVariables)
        if !missing.isEmpty {
            if container.hasEnv {
                for (position, entry) in AWSVariables.all.enumerated() where missing.contains(entry.variable) {
                    patch.add(arrayPath, index: index, "/env/-") { variables.writeVariable(position, entry.name, to: &$0) }
                }
            } else {
                patch.add(arrayPath, index: index, "/env") { writer in
                    writer.raw("[")
                    variables.write(missing, to: &writer, separatedBy: ",")
                    writer.raw("]")
                }
            }
        }
        if !container.hasTokenMount {
            if container.hasVolumeMounts {
                patch.add(arrayPath, index: index, "/volumeMounts/-") { writeMount(&$0, settings) }
            } else {
                patch.add(arrayPath, index: index, "/volumeMounts") { writer in
                    writer.raw("[")
                    writeMount(&writer, settings)
                    writer.raw("]")
                }
            }
        }
    }

    private static func writeVolume(_ writer: inout JSONWriter, _ settings: PatchSettings) {
        writer.raw("{\"name\":\"")
        writer.raw(PatchConfig.volumeName)
        writer.raw("\",\"projected\":{\"sources\":[{\"serviceAccountToken\":{\"audience\":")
        writer.string(settings.audience)
        writer.raw(",\"expirationSeconds\":")
        writer.integer(settings.tokenExpiration)
        writer.raw(",\"path\":\"token\"}}]}}")
    }

    private static func writeMount(_ writer: inout JSONWriter, _ settings: PatchSettings) {
        writer.raw("{\"name\":\"")
        writer.raw(PatchConfig.volumeName)
        writer.raw("\",\"mountPath\":")
        writer.string(settings.tokenMountPath)
        writer.raw(",\"readOnly\":true}")
    }
}

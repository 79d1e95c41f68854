/// The IRSA mutation of one pod: a pure function from what the pod has and the merged settings
/// to the JSON Patch that adds what is missing.
///
/// - The projected token volume `PatchConfig.volumeName` is added unless a volume of that name
///   exists, or no container is to be patched (every one is skipped).
/// - Every init container and container (not ephemeral ones), except the skipped ones, gets each
///   variable it does not already define, and a read-only mount of the volume unless some mount
///   already uses the token mount path. A container that defines one of `AWS_REGION` and
///   `AWS_DEFAULT_REGION` itself gets the other as a reference to it (`$(AWS_REGION)`, expanded by
///   Kubernetes), so boto3 (which reads only the latter) and the other SDKs (only the former) use
///   the container's region, not the webhook's.
/// - Absent (or null) arrays are added whole; existing ones are appended to with `/-`, one
///   operation per element, so the patch applies to every pod and never depends on its own order.
///
/// Applying the patch and mutating again yields no operation. A pod without `spec` gets none.
public enum PodPatch {
    /// The operations that give `pod` the settings' credentials.
    public static func patch(for pod: Pod, settings: PatchSettings) -> JSONPatch {
        guard pod.hasSpec, !every(pod, isSkippedBy: settings) else { return JSONPatch() }
        let fragments = Fragments(settings)
        // Room for the volume and, per container, every fragment plus the operations' own text,
        // so a typical patch is written without growing its storage.
        let containerCount = pod.initContainers.count + pod.containers.count
        var patch = JSONPatch(capacity: fragments.rendered.count + containerCount * (fragments.rendered.count + 512))
        if !pod.hasTokenVolume {
            if pod.hasVolumes {
                patch.add("/spec/volumes/-", value: fragments.volume)
            } else {
                patch.add("/spec/volumes", arrayOf: CollectionOfOne(fragments.volume))
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

    /// Whether `settings` skips every init container and container of `pod` (true for none at all).
    public static func every(_ pod: Pod, isSkippedBy settings: PatchSettings) -> Bool {
        let isSkipped = { (container: Pod.Container) in settings.skippedContainers.contains(container.name) }
        return pod.initContainers.allSatisfy(isSkipped) && pod.containers.allSatisfy(isSkipped)
    }

    /// The JSON values the patch repeats, rendered once per pod: one env entry per variable,
    /// the mount and the volume.
    private struct Fragments {
        /// The variables to set.
        var wanted: AWSVariables
        /// All fragments, back to back.
        var rendered: [UInt8]
        /// Where the env entry of each variable of `AWSVariables.all` is in `rendered` (empty when not wanted).
        var entryRanges: [Range<Int>] = []
        var mountRange: Range<Int>
        var volumeRange: Range<Int>

        /// `AWS_REGION` and `AWS_DEFAULT_REGION` as references to each other (empty when no region is wanted).
        var regionReferenceRange: Range<Int> = 0..<0
        var defaultRegionReferenceRange: Range<Int> = 0..<0

        /// The env entry (`{"name":…,"value":…}`) of the variable at `position` in `AWSVariables.all`
        /// for `container`: a region variable refers to its companion when the container sets that.
        func entry(_ position: Int, for container: Pod.Container) -> ArraySlice<UInt8> {
            switch AWSVariables.all[position].variable {
            case .region where container.definedVariables.contains(.defaultRegion): rendered[regionReferenceRange]
            case .defaultRegion where container.definedVariables.contains(.region): rendered[defaultRegionReferenceRange]
            default: rendered[entryRanges[position]]
            }
        }
        /// The volume mount object.
        var mount: ArraySlice<UInt8> { rendered[mountRange] }
        /// The projected token volume object.
        var volume: ArraySlice<UInt8> { rendered[volumeRange] }

        init(_ settings: PatchSettings) {
            wanted = settings.variables
            var writer = JSONWriter(capacity: 1024)
            entryRanges.reserveCapacity(AWSVariables.all.count)
            for entry in AWSVariables.all {
                let start = writer.count
                if wanted.contains(entry.variable) {
                    writer.raw("{\"name\":\"")
                    writer.raw(entry.name)
                    writer.raw("\",\"value\":")
                    switch entry.variable {
                    case .roleARN: writer.string(settings.roleARN)
                    case .webIdentityTokenFile:
                        writer.string(settings.tokenMountPath, appending: settings.tokenMountPath.hasSuffix("/") ? "token" : "/token")
                    case .stsRegionalEndpoints: writer.raw("\"regional\"")
                    case .endpointURLSTS: writer.string(settings.stsEndpoint ?? "")
                    default: writer.string(settings.region ?? "")
                    }
                    writer.raw("}")
                }
                entryRanges.append(start..<writer.count)
            }
            var start = writer.count
            if wanted.contains(.region) {
                writer.raw("{\"name\":\"AWS_REGION\",\"value\":\"$(AWS_DEFAULT_REGION)\"}")
                regionReferenceRange = start..<writer.count
                start = writer.count
                writer.raw("{\"name\":\"AWS_DEFAULT_REGION\",\"value\":\"$(AWS_REGION)\"}")
                defaultRegionReferenceRange = start..<writer.count
                start = writer.count
            }
            writer.raw("{\"name\":\"")
            writer.raw(PatchConfig.volumeName)
            writer.raw("\",\"mountPath\":")
            writer.string(settings.tokenMountPath)
            writer.raw(",\"readOnly\":true}")
            mountRange = start..<writer.count
            start = writer.count
            writer.raw("{\"name\":\"")
            writer.raw(PatchConfig.volumeName)
            writer.raw("\",\"projected\":{\"sources\":[{\"serviceAccountToken\":{\"audience\":")
            writer.string(settings.audience)
            writer.raw(",\"expirationSeconds\":")
            writer.integer(settings.tokenExpiration)
            writer.raw(",\"path\":\"token\"}}]}}")
            volumeRange = start..<writer.count
            rendered = writer.finish()
        }
    }

    private static func patchContainer(_ container: Pod.Container, _ arrayPath: StaticString, _ index: Int,
                                       _ fragments: Fragments, _ patch: inout JSONPatch) {
        let missing = fragments.wanted.subtracting(container.definedVariables)
        if !missing.isEmpty {
            let positions = AWSVariables.all.indices.lazy.filter { missing.contains(AWSVariables.all[$0].variable) }
            if container.hasEnv {
                for position in positions {
                    patch.add(arrayPath, index: index, "/env/-", value: fragments.entry(position, for: container))
                }
            } else {
                patch.add(arrayPath, index: index, "/env", arrayOf: positions.map { fragments.entry($0, for: container) })
            }
        }
        if !container.hasTokenMount {
            if container.hasVolumeMounts {
                patch.add(arrayPath, index: index, "/volumeMounts/-", value: fragments.mount)
            } else {
                patch.add(arrayPath, index: index, "/volumeMounts", arrayOf: CollectionOfOne(fragments.mount))
            }
        }
    }
}

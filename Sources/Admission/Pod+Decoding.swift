/// The keys and values the pod decoder compares against, prepared once from a `PatchConfig`.
struct PodDecodingKeys: Sendable {
    /// `<prefix>/token-expiration`.
    var tokenExpirationAnnotation: [UInt8]
    /// `<prefix>/region`.
    var regionAnnotation: [UInt8]
    /// `<prefix>/skip-containers`.
    var skipContainersAnnotation: [UInt8]
    /// The token mount path.
    var tokenMountPath: [UInt8]
}

extension Pod {
    /// Extracts a Pod from the object the scanner is on, validating and skipping every field the
    /// mutation does not read.
    static func decode(from scanner: inout JSONScanner, keys: PodDecodingKeys) throws(AdmissionError) -> Pod {
        do {
            return try decodeObject(from: &scanner, keys: keys)
        } catch {
            throw .malformedJSON(error)
        }
    }

    /// Decodes a pod (or pod template) given as a JSON document on its own, as `irsa-webhook
    /// mutate` has it; the error's offset points into `json`.
    static func decode(json: [UInt8], keys: PodDecodingKeys) throws(JSONSyntaxError) -> Pod {
        let result = json.withUnsafeBytes { bytes in
            Result { () throws(JSONSyntaxError) -> Pod in
                var scanner = JSONScanner(bytes)
                let pod = try decodeObject(from: &scanner, keys: keys)
                try scanner.finish()
                return pod
            }
        }
        return try result.get()
    }

    private static func decodeObject(from scanner: inout JSONScanner, keys: PodDecodingKeys) throws(JSONSyntaxError) -> Pod {
        var pod = Pod()
        var members = try scanner.beginObject()
        while let key = try scanner.nextMember(&members) {
            if key.equals("metadata") {
                try pod.decodeMetadata(from: &scanner, keys: keys)
            } else if key.equals("spec") {
                try pod.decodeSpec(from: &scanner, keys: keys)
            } else {
                try scanner.skipValue()
            }
        }
        return pod
    }

    private mutating func decodeMetadata(from scanner: inout JSONScanner, keys: PodDecodingKeys) throws(JSONSyntaxError) {
        if try scanner.consumeNull() { return }
        var generateName: String?
        var members = try scanner.beginObject()
        while let key = try scanner.nextMember(&members) {
            if key.equals("name") {
                name = try scanner.readOptionalString()?.value
            } else if key.equals("generateName") {
                generateName = try scanner.readOptionalString()?.value
            } else if key.equals("namespace") {
                namespace = try scanner.readOptionalString()?.value
            } else if key.equals("annotations") {
                try decodeAnnotations(from: &scanner, keys: keys)
            } else {
                try scanner.skipValue()
            }
        }
        if name?.isEmpty ?? true { name = generateName }
    }

    private mutating func decodeAnnotations(from scanner: inout JSONScanner, keys: PodDecodingKeys) throws(JSONSyntaxError) {
        if try scanner.consumeNull() { return }
        var members = try scanner.beginObject()
        while let key = try scanner.nextMember(&members) {
            let value = try scanner.readString()
            if key.equals(keys.tokenExpirationAnnotation) {
                tokenExpirationAnnotation = value.value
            } else if key.equals(keys.regionAnnotation) {
                regionAnnotation = value.value
            } else if key.equals(keys.skipContainersAnnotation) {
                skipContainersAnnotation = value.value
            }
        }
    }

    private mutating func decodeSpec(from scanner: inout JSONScanner, keys: PodDecodingKeys) throws(JSONSyntaxError) {
        if try scanner.consumeNull() { return }
        hasSpec = true
        var serviceAccountName: String?
        var deprecatedServiceAccount: String?
        var members = try scanner.beginObject()
        while let key = try scanner.nextMember(&members) {
            if key.equals("containers") {
                containers = try Self.decodeContainers(from: &scanner, keys: keys)
            } else if key.equals("initContainers") {
                initContainers = try Self.decodeContainers(from: &scanner, keys: keys)
            } else if key.equals("volumes") {
                try decodeVolumes(from: &scanner)
            } else if key.equals("serviceAccountName") {
                serviceAccountName = try scanner.readOptionalString()?.value
            } else if key.equals("serviceAccount") {
                deprecatedServiceAccount = try scanner.readOptionalString()?.value
            } else {
                try scanner.skipValue()
            }
        }
        if let name = serviceAccountName, !name.isEmpty {
            self.serviceAccountName = name
        } else if let name = deprecatedServiceAccount, !name.isEmpty {
            self.serviceAccountName = name
        }
    }

    private mutating func decodeVolumes(from scanner: inout JSONScanner) throws(JSONSyntaxError) {
        if try scanner.consumeNull() { return }
        hasVolumes = true
        var elements = try scanner.beginArray()
        while try scanner.nextElement(&elements) {
            var members = try scanner.beginObject()
            while let key = try scanner.nextMember(&members) {
                if key.equals("name") {
                    if let name = try scanner.readOptionalString(), name.equals(PatchConfig.volumeName) { hasTokenVolume = true }
                } else {
                    try scanner.skipValue()
                }
            }
        }
    }

    private static func decodeContainers(from scanner: inout JSONScanner, keys: PodDecodingKeys) throws(JSONSyntaxError) -> [Container] {
        if try scanner.consumeNull() { return [] }
        var containers: [Container] = []
        containers.reserveCapacity(4)
        var elements = try scanner.beginArray()
        while try scanner.nextElement(&elements) {
            containers.append(try decodeContainer(from: &scanner, keys: keys))
        }
        return containers
    }

    private static func decodeContainer(from scanner: inout JSONScanner, keys: PodDecodingKeys) throws(JSONSyntaxError) -> Container {
        var container = Container()
        var members = try scanner.beginObject()
        while let key = try scanner.nextMember(&members) {
            if key.equals("name") {
                container.name = try scanner.readOptionalString()?.value ?? ""
            } else if key.equals("env") {
                guard !(try scanner.consumeNull()) else { continue }
                container.hasEnv = true
                container.definedVariables = try decodeEnvNames(from: &scanner)
            } else if key.equals("volumeMounts") {
                guard !(try scanner.consumeNull()) else { continue }
                container.hasVolumeMounts = true
                container.hasTokenMount = try decodeMounts(from: &scanner, findingPath: keys.tokenMountPath)
            } else {
                try scanner.skipValue()
            }
        }
        return container
    }

    /// Which of the webhook's variables the `env` array defines (with a value or valueFrom).
    private static func decodeEnvNames(from scanner: inout JSONScanner) throws(JSONSyntaxError) -> AWSVariables {
        var defined: AWSVariables = []
        var elements = try scanner.beginArray()
        while try scanner.nextElement(&elements) {
            var members = try scanner.beginObject()
            while let key = try scanner.nextMember(&members) {
                guard key.equals("name") else {
                    try scanner.skipValue()
                    continue
                }
                guard let name = try scanner.readOptionalString(), name.hasPrefix("AWS_") else { continue }
                for (variable, variableName) in AWSVariables.all where name.equals(variableName) {
                    defined.insert(variable)
                }
            }
        }
        return defined
    }

    /// Whether some element of the `volumeMounts` array has `mountPath` equal to `path`.
    private static func decodeMounts(from scanner: inout JSONScanner, findingPath path: [UInt8]) throws(JSONSyntaxError) -> Bool {
        var found = false
        var elements = try scanner.beginArray()
        while try scanner.nextElement(&elements) {
            var members = try scanner.beginObject()
            while let key = try scanner.nextMember(&members) {
                if key.equals("mountPath") {
                    if let mountPath = try scanner.readOptionalString(), mountPath.equals(path) { found = true }
                } else {
                    try scanner.skipValue()
                }
            }
        }
        return found
    }
}

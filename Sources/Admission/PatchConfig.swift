/// The command-line defaults of the mutation, and the merge of every source of settings into
/// the `PatchSettings` of one pod.
///
/// Precedence, highest first:
/// 1. Pod annotations: `<prefix>/token-expiration`, `<prefix>/region`, `<prefix>/skip-containers`.
/// 2. ServiceAccount annotations: `<prefix>/role-arn` (or the legacy alias `api.vultr.com/role`
///    when it is absent), `<prefix>/audience`, `<prefix>/token-expiration`, `<prefix>/region`,
///    `<prefix>/sts-regional-endpoints`.
/// 3. These command-line defaults: `defaultAudience`, `defaultTokenExpiration`, `tokenMountPath`,
///    `stsEndpoint`, `region`.
///
/// A value that does not parse, or is out of bounds (a token lifetime outside
/// `tokenExpirationRange`, the bounds the `--token-expiration` flag has too; a region that is not
/// `isRegionName`), is ignored (the next source down applies) and named in a warning, as is a
/// `skip-containers` name the pod has no container for. Without a role there is no mutation at all.
public struct PatchConfig: Sendable {
    /// The name of the projected token volume the webhook adds.
    public static let volumeName: StaticString = "vultr-irsa-token"
    /// The legacy ServiceAccount annotation honoured when `<prefix>/role-arn` is absent.
    public static let legacyRoleAnnotation = "api.vultr.com/role"
    /// The token lifetimes accepted from every source (flag, ServiceAccount, pod), in seconds:
    /// the kubelet's minimum of 10 minutes up to one year.
    public static let tokenExpirationRange = 600...31_536_000

    /// Prefix of every annotation the webhook reads, e.g. `vultr.com`.
    public let annotationPrefix: String
    /// Token audience when the ServiceAccount does not name one.
    public let defaultAudience: String
    /// Token lifetime in seconds when no annotation sets one.
    public let defaultTokenExpiration: Int
    /// Where the token volume is mounted in every container.
    public let tokenMountPath: String
    /// Value of `AWS_ENDPOINT_URL_STS`; nil (or empty at init) sets no such variable.
    public let stsEndpoint: String?
    /// Value of `AWS_REGION` and `AWS_DEFAULT_REGION`; nil (or empty at init) sets neither.
    public let region: String?

    /// The annotation keys, precomputed.
    let keys: AnnotationKeys
    /// The pod decoder's comparison bytes, precomputed.
    let podDecodingKeys: PodDecodingKeys

    public init(
        annotationPrefix: String = "vultr.com",
        defaultAudience: String = "vultr",
        defaultTokenExpiration: Int = 86400,
        tokenMountPath: String = "/var/run/secrets/vultr.com/serviceaccount",
        stsEndpoint: String? = "https://api.vultr.com/v2/assumed-roles/compatibility/aws/sts",
        region: String? = nil
    ) {
        self.annotationPrefix = annotationPrefix
        self.defaultAudience = defaultAudience
        self.defaultTokenExpiration = defaultTokenExpiration
        self.tokenMountPath = tokenMountPath
        self.stsEndpoint = stsEndpoint?.isEmpty == false ? stsEndpoint : nil
        self.region = region?.isEmpty == false ? region : nil
        keys = AnnotationKeys(prefix: annotationPrefix)
        podDecodingKeys = PodDecodingKeys(
            tokenExpirationAnnotation: Array(keys.tokenExpiration.utf8),
            regionAnnotation: Array(keys.region.utf8),
            skipContainersAnnotation: Array(keys.skipContainers.utf8),
            tokenMountPath: Array(tokenMountPath.utf8)
        )
    }

    /// The full annotation keys under one prefix.
    public struct AnnotationKeys: Sendable {
        public var roleARN: String
        public var audience: String
        public var tokenExpiration: String
        public var region: String
        public var stsRegionalEndpoints: String
        public var skipContainers: String

        init(prefix: String) {
            roleARN = prefix + "/role-arn"
            audience = prefix + "/audience"
            tokenExpiration = prefix + "/token-expiration"
            region = prefix + "/region"
            stsRegionalEndpoints = prefix + "/sts-regional-endpoints"
            skipContainers = prefix + "/skip-containers"
        }

        /// Every key a ServiceAccount may carry, in the order `settings` reads them (the legacy
        /// role alias after the others).
        public var onServiceAccount: [String] {
            [roleARN, audience, tokenExpiration, region, stsRegionalEndpoints, PatchConfig.legacyRoleAnnotation]
        }
    }

    /// What a ServiceAccount source needs to keep: the annotations under `annotationPrefix` and
    /// the legacy role alias's prefix.
    public var serviceAccountAnnotationFilter: ServiceAccountAnnotationFilter {
        ServiceAccountAnnotationFilter(prefixes: [annotationPrefix + "/", "api.vultr.com/"])
    }

    /// The annotation keys under `annotationPrefix`.
    public var annotationKeys: AnnotationKeys { keys }

    /// The role `serviceAccount` carries (`<prefix>/role-arn`, else the legacy alias), nil for none.
    public func role(of serviceAccount: ServiceAccount) -> String? {
        let annotations = serviceAccount.annotations
        guard let role = annotations[keys.roleARN] ?? annotations[Self.legacyRoleAnnotation], !role.isEmpty else { return nil }
        return role
    }

    /// The settings for `pod` running as `serviceAccount`, or nil when the ServiceAccount has no role.
    public func settings(serviceAccount: ServiceAccount, pod: Pod) -> PatchSettings? {
        guard let role = role(of: serviceAccount) else { return nil }
        let annotations = serviceAccount.annotations
        var warnings: [String] = []

        var audience = defaultAudience
        if let value = annotations[keys.audience] {
            if value.isEmpty {
                warnings.append(Self.ignored(keys.audience, value, on: "ServiceAccount", "must not be empty"))
            } else {
                audience = value
            }
        }

        var expiration = defaultTokenExpiration
        if let value = annotations[keys.tokenExpiration] {
            expiration = Self.checked(value, keys.tokenExpiration, on: "ServiceAccount", Self.parseSeconds, Self.tokenExpirationForm, &warnings) ?? expiration
        }
        if let value = pod.tokenExpirationAnnotation {
            expiration = Self.checked(value, keys.tokenExpiration, on: "pod", Self.parseSeconds, Self.tokenExpirationForm, &warnings) ?? expiration
        }

        var region = self.region
        if let value = annotations[keys.region] {
            region = Self.checked(value, keys.region, on: "ServiceAccount", Self.regionName, Self.regionForm, &warnings) ?? region
        }
        if let value = pod.regionAnnotation {
            region = Self.checked(value, keys.region, on: "pod", Self.regionName, Self.regionForm, &warnings) ?? region
        }

        var regionalSTS = true
        if let value = annotations[keys.stsRegionalEndpoints] {
            regionalSTS = Self.checked(value, keys.stsRegionalEndpoints, on: "ServiceAccount", Self.parseBool, "not a boolean", &warnings) ?? regionalSTS
        }

        var skipped: [String] = []
        if let value = pod.skipContainersAnnotation {
            for item in value.split(separator: ",") {
                let name = item.trimmingSpaces()
                guard !name.isEmpty else { continue }
                skipped.append(String(name))
                if !pod.initContainers.contains(where: { $0.name == name }), !pod.containers.contains(where: { $0.name == name }) {
                    warnings.append("irsa-webhook: pod annotation \(keys.skipContainers) names container \"\(Self.shortened(name))\", which the pod does not have")
                }
            }
        }

        return PatchSettings(
            roleARN: role,
            audience: audience,
            tokenExpiration: expiration,
            regionalSTS: regionalSTS,
            stsEndpoint: stsEndpoint,
            region: region,
            tokenMountPath: tokenMountPath,
            skippedContainers: skipped,
            warnings: warnings
        )
    }

    /// A whole number of seconds in `tokenExpirationRange`; surrounding spaces allowed.
    static func parseSeconds(_ text: String) -> Int? {
        guard let seconds = Int(text[...].trimmingSpaces()), tokenExpirationRange.contains(seconds) else { return nil }
        return seconds
    }

    /// Whether `text` is a plausible region name: 1 to 32 lowercase ASCII letters, digits and hyphens.
    public static func isRegionName(_ text: String) -> Bool {
        (1...32).contains(text.utf8.count)
            && text.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
    }

    /// `text` when it is a region name.
    private static func regionName(_ text: String) -> String? {
        isRegionName(text) ? text : nil
    }

    /// `parse(value)`, or nil with a warning that says what the annotation accepts (`form`).
    private static func checked<Value>(_ value: String, _ annotation: String, on owner: String, _ parse: (String) -> Value?,
                                       _ form: String, _ warnings: inout [String]) -> Value? {
        if let parsed = parse(value) { return parsed }
        warnings.append(ignored(annotation, value, on: owner, form))
        return nil
    }

    private static let tokenExpirationForm =
        "not a whole number of seconds from \(tokenExpirationRange.lowerBound) to \(tokenExpirationRange.upperBound)"
    private static let regionForm = "not a region name (1 to 32 lowercase letters, digits and hyphens)"

    /// The spellings Go's `strconv.ParseBool` accepts.
    static func parseBool(_ text: String) -> Bool? {
        switch text[...].trimmingSpaces() {
        case "1", "t", "T", "true", "TRUE", "True": return true
        case "0", "f", "F", "false", "FALSE", "False": return false
        default: return nil
        }
    }

    private static func ignored(_ annotation: String, _ value: String, on owner: String, _ problem: String) -> String {
        "irsa-webhook: ignored \(owner) annotation \(annotation)=\"\(shortened(value))\": \(problem)"
    }

    /// `text` cut to 64 characters for a message.
    private static func shortened(_ text: some StringProtocol) -> String {
        text.count > 64 ? String(text.prefix(64)) + "…" : String(text)
    }
}

/// Everything the patch of one pod depends on, after merging pod annotations, ServiceAccount
/// annotations and command-line defaults (see `PatchConfig`).
public struct PatchSettings: Sendable, Equatable {
    /// Value of `AWS_ROLE_ARN`.
    public var roleARN: String
    /// Audience of the projected token.
    public var audience: String
    /// Lifetime of the projected token in seconds (in `PatchConfig.tokenExpirationRange`).
    public var tokenExpiration: Int
    /// Whether to set `AWS_STS_REGIONAL_ENDPOINTS=regional`.
    public var regionalSTS: Bool
    /// Value of `AWS_ENDPOINT_URL_STS`, if any.
    public var stsEndpoint: String?
    /// Value of `AWS_REGION` and `AWS_DEFAULT_REGION`, if any.
    public var region: String?
    /// Where the token volume is mounted.
    public var tokenMountPath: String
    /// Names of containers left untouched.
    public var skippedContainers: [String]
    /// Annotation values that were ignored, one message each.
    public var warnings: [String]

    /// The variables a container is given (where it does not define them itself).
    public var variables: AWSVariables {
        var variables: AWSVariables = [.roleARN, .webIdentityTokenFile]
        if regionalSTS { variables.insert(.stsRegionalEndpoints) }
        if stsEndpoint != nil { variables.insert(.endpointURLSTS) }
        if region != nil { variables.formUnion([.region, .defaultRegion]) }
        return variables
    }

    public init(roleARN: String, audience: String, tokenExpiration: Int, regionalSTS: Bool, stsEndpoint: String?,
                region: String?, tokenMountPath: String, skippedContainers: [String] = [], warnings: [String] = []) {
        self.roleARN = roleARN
        self.audience = audience
        self.tokenExpiration = tokenExpiration
        self.regionalSTS = regionalSTS
        self.stsEndpoint = stsEndpoint
        self.region = region
        self.tokenMountPath = tokenMountPath
        self.skippedContainers = skippedContainers
        self.warnings = warnings
    }
}

extension Substring {
    /// The text without leading and trailing spaces and tabs.
    func trimmingSpaces() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        var trimmed = drop(while: isSpace)
        while let last = trimmed.last, isSpace(last) { trimmed = trimmed.dropLast() }
        return trimmed
    }
}

/// The command-line defaults of the mutation, and the merge of every source of settings into
/// the `PatchSettings` of one pod.
///
/// Precedence, highest first:
/// 1. Pod annotations: `<prefix>/token-expiration`, `<prefix>/skip-containers`.
/// 2. ServiceAccount annotations: `<prefix>/role-arn` (or the legacy alias `api.vultr.com/role`
///    when it is absent), `<prefix>/audience`, `<prefix>/token-expiration`,
///    `<prefix>/sts-regional-endpoints`.
/// 3. These command-line defaults: `defaultAudience`, `defaultTokenExpiration`, `tokenMountPath`,
///    `stsEndpoint`, `region`.
///
/// A value that does not parse is ignored (the next source down applies) and named in a warning.
/// The chosen token expiration is raised to 600 s when lower; above 2^32 s it does not parse.
/// Without a role there is no mutation at all.
public struct PatchConfig: Sendable {
    /// The name of the projected token volume the webhook adds.
    public static let volumeName: StaticString = "vultr-irsa-token"
    /// The legacy ServiceAccount annotation honoured when `<prefix>/role-arn` is absent.
    public static let legacyRoleAnnotation = "api.vultr.com/role"
    /// The shortest token lifetime the kubelet accepts, in seconds.
    public static let minimumTokenExpiration = 600
    /// The longest token lifetime the API server accepts, in seconds.
    public static let maximumTokenExpiration = 1 << 32

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
            skipContainersAnnotation: Array(keys.skipContainers.utf8),
            tokenMountPath: Array(tokenMountPath.utf8)
        )
    }

    /// The full annotation keys under one prefix.
    struct AnnotationKeys: Sendable {
        var roleARN: String
        var audience: String
        var tokenExpiration: String
        var stsRegionalEndpoints: String
        var skipContainers: String

        init(prefix: String) {
            roleARN = prefix + "/role-arn"
            audience = prefix + "/audience"
            tokenExpiration = prefix + "/token-expiration"
            stsRegionalEndpoints = prefix + "/sts-regional-endpoints"
            skipContainers = prefix + "/skip-containers"
        }
    }

    /// The settings for `pod` running as `serviceAccount`, or nil when the ServiceAccount has no role.
    public func settings(serviceAccount: ServiceAccount, pod: Pod) -> PatchSettings? {
        let annotations = serviceAccount.annotations
        guard let role = annotations[keys.roleARN] ?? annotations[Self.legacyRoleAnnotation], !role.isEmpty else {
            return nil
        }
        var warnings: [String] = []

        var audience = defaultAudience
        if let value = annotations[keys.audience] {
            if value.isEmpty {
                warnings.append(Self.ignored(keys.audience, value, on: "ServiceAccount"))
            } else {
                audience = value
            }
        }

        var expiration = defaultTokenExpiration
        if let value = annotations[keys.tokenExpiration] {
            if let seconds = Self.parseSeconds(value) {
                expiration = seconds
            } else {
                warnings.append(Self.ignored(keys.tokenExpiration, value, on: "ServiceAccount"))
            }
        }
        if let value = pod.tokenExpirationAnnotation {
            if let seconds = Self.parseSeconds(value) {
                expiration = seconds
            } else {
                warnings.append(Self.ignored(keys.tokenExpiration, value, on: "pod"))
            }
        }

        var regionalSTS = true
        if let value = annotations[keys.stsRegionalEndpoints] {
            if let flag = Self.parseBool(value) {
                regionalSTS = flag
            } else {
                warnings.append(Self.ignored(keys.stsRegionalEndpoints, value, on: "ServiceAccount"))
            }
        }

        var skipped: [String] = []
        if let value = pod.skipContainersAnnotation {
            for item in value.split(separator: ",") {
                let name = item.trimmingSpaces()
                if !name.isEmpty { skipped.append(String(name)) }
            }
        }

        return PatchSettings(
            roleARN: role,
            audience: audience,
            tokenExpiration: max(expiration, Self.minimumTokenExpiration),
            regionalSTS: regionalSTS,
            stsEndpoint: stsEndpoint,
            region: region,
            tokenMountPath: tokenMountPath,
            skippedContainers: skipped,
            warnings: warnings
        )
    }

    /// A whole number of seconds, at most `maximumTokenExpiration`; surrounding spaces allowed.
    static func parseSeconds(_ text: String) -> Int? {
        guard let seconds = Int(text[...].trimmingSpaces()), seconds <= maximumTokenExpiration else { return nil }
        return seconds
    }

    /// The spellings Go's `strconv.ParseBool` accepts.
    static func parseBool(_ text: String) -> Bool? {
        switch text[...].trimmingSpaces() {
        case "1", "t", "T", "true", "TRUE", "True": return true
        case "0", "f", "F", "false", "FALSE", "False": return false
        default: return nil
        }
    }

    private static func ignored(_ annotation: String, _ value: String, on owner: String) -> String {
        let shown = value.count > 64 ? String(value.prefix(64)) + "…" : value
        return "irsa-webhook: ignored \(owner) annotation \(annotation)=\"\(shown)\": not a valid value"
    }
}

/// Everything the patch of one pod depends on, after merging pod annotations, ServiceAccount
/// annotations and command-line defaults (see `PatchConfig`).
public struct PatchSettings: Sendable, Equatable {
    /// Value of `AWS_ROLE_ARN`.
    public var roleARN: String
    /// Audience of the projected token.
    public var audience: String
    /// Lifetime of the projected token in seconds (at least 600).
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

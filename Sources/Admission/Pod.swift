/// What the mutation needs to know about a Pod, extracted from the review without copying the
/// rest of it.
public struct Pod: Sendable, Equatable {
    /// `metadata.name`, else `metadata.generateName` (for logs).
    public var name: String?
    /// `metadata.namespace`.
    public var namespace: String?
    /// `spec.serviceAccountName`, else the deprecated `spec.serviceAccount`, else `default`.
    public var serviceAccountName: String = "default"
    /// The pod annotation `<prefix>/token-expiration`, unparsed.
    public var tokenExpirationAnnotation: String?
    /// The pod annotation `<prefix>/region`, unchecked.
    public var regionAnnotation: String?
    /// The pod annotation `<prefix>/skip-containers`, unparsed.
    public var skipContainersAnnotation: String?
    /// Whether `spec` is present and an object (without it no patch path exists).
    public var hasSpec = false
    /// Whether `spec.volumes` is present and not null (so the patch appends instead of creating it).
    public var hasVolumes = false
    /// Whether a volume named `PatchConfig.volumeName` exists.
    public var hasTokenVolume = false
    /// `spec.initContainers`, in order.
    public var initContainers: [Container] = []
    /// `spec.containers`, in order.
    public var containers: [Container] = []

    public init() {}

    /// What the mutation needs to know about one container.
    public struct Container: Sendable, Equatable {
        /// The container's name.
        public var name: String = ""
        /// Whether `env` is present and not null.
        public var hasEnv = false
        /// Which of the variables the webhook sets the container already defines.
        public var definedVariables: AWSVariables = []
        /// Whether `volumeMounts` is present and not null.
        public var hasVolumeMounts = false
        /// Whether some mount already uses the token mount path.
        public var hasTokenMount = false

        public init(name: String = "", hasEnv: Bool = false, definedVariables: AWSVariables = [],
                    hasVolumeMounts: Bool = false, hasTokenMount: Bool = false) {
            self.name = name
            self.hasEnv = hasEnv
            self.definedVariables = definedVariables
            self.hasVolumeMounts = hasVolumeMounts
            self.hasTokenMount = hasTokenMount
        }
    }
}

/// The environment variables the webhook may inject, as a set.
public struct AWSVariables: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8

    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let roleARN = AWSVariables(rawValue: 1 << 0)
    public static let webIdentityTokenFile = AWSVariables(rawValue: 1 << 1)
    public static let stsRegionalEndpoints = AWSVariables(rawValue: 1 << 2)
    public static let endpointURLSTS = AWSVariables(rawValue: 1 << 3)
    public static let region = AWSVariables(rawValue: 1 << 4)
    public static let defaultRegion = AWSVariables(rawValue: 1 << 5)

    /// The names of the variables in `set`, in the order the patch adds them.
    public static func names(in set: AWSVariables) -> [String] {
        all.filter { set.contains($0.variable) }.map { "\($0.name)" }
    }

    /// Every variable with its name, in the order the patch adds them.
    static let all: [(variable: AWSVariables, name: StaticString)] = [
        (.roleARN, "AWS_ROLE_ARN"),
        (.webIdentityTokenFile, "AWS_WEB_IDENTITY_TOKEN_FILE"),
        (.stsRegionalEndpoints, "AWS_STS_REGIONAL_ENDPOINTS"),
        (.endpointURLSTS, "AWS_ENDPOINT_URL_STS"),
        (.region, "AWS_REGION"),
        (.defaultRegion, "AWS_DEFAULT_REGION"),
    ]
}

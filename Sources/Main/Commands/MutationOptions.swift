import ArgumentParser

/// The options that decide the mutation's defaults, shared by `serve` and `mutate` (an
/// `@OptionGroup` in each, and the same environment variables); `Configuration.patchConfig(_:)`
/// validates them.
struct MutationOptions: ParsableArguments {
    /// Environment variables that stand in for absent flags.
    static let environmentFlags: [(variable: String, flag: String)] = [("STS_ENDPOINT", "--sts-endpoint")]

    /// `arguments` with the values of `flags`' environment variables placed before them, so the
    /// command line wins.
    static func arguments(_ arguments: [String], environment: [String: String],
                          flags: [(variable: String, flag: String)] = environmentFlags) -> [String] {
        var merged: [String] = []
        for (variable, flag) in flags {
            guard let value = environment[variable] else { continue }
            let named = arguments.contains { $0 == flag || $0.hasPrefix(flag + "=") }
            if !named { merged.append("\(flag)=\(value)") }
        }
        return merged + arguments
    }

    @Option(help: "Annotation prefix: <prefix>/role-arn, <prefix>/audience, ...")
    var annotationPrefix: String = "vultr.com"

    @Option(help: "Default audience of the projected token.")
    var tokenAudience: String = "vultr"

    @Option(parsing: .unconditional, help: "Default token lifetime, e.g. 24h or 86400 (seconds), 10m to 365 days.")
    var tokenExpiration: String = "86400"

    @Option(help: "Where the token volume is mounted in each container.")
    var tokenMountPath: String = "/var/run/secrets/vultr.com/serviceaccount"

    @Option(help: "AWS_ENDPOINT_URL_STS injected into containers [STS_ENDPOINT]; empty disables it.")
    var stsEndpoint: String = "https://api.vultr.com/v2/assumed-roles/compatibility/aws/sts"

    @Option(help: "AWS_REGION and AWS_DEFAULT_REGION injected into containers (<prefix>/region overrides it); absent: not injected.")
    var region: String?
}

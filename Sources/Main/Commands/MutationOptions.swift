import ArgumentParser

/// The options that decide the mutation's defaults, shared by `serve` and `mutate` (an
/// `@OptionGroup` in each); `Configuration.patchConfig(_:)` validates them.
struct MutationOptions: ParsableArguments {
    @Option(help: "Annotation prefix: <prefix>/role-arn, <prefix>/audience, ...")
    var annotationPrefix: String = "vultr.com"

    @Option(help: "Default audience of the projected token.")
    var tokenAudience: String = "vultr"

    @Option(help: "Default token lifetime in seconds (600 to 31536000).")
    var tokenExpiration: Int = 86400

    @Option(help: "Where the token volume is mounted in each container.")
    var tokenMountPath: String = "/var/run/secrets/vultr.com/serviceaccount"

    @Option(help: "AWS_ENDPOINT_URL_STS injected into containers [STS_ENDPOINT]; empty disables it.")
    var stsEndpoint: String = "https://api.vultr.com/v2/assumed-roles/compatibility/aws/sts"

    @Option(help: "AWS_REGION and AWS_DEFAULT_REGION injected into containers (<prefix>/region overrides it); absent: not injected.")
    var region: String?
}

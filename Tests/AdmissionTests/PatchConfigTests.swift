import Testing
@testable import Admission

@Suite struct PatchConfigTests {
    static func pod(expiration: String? = nil, skip: String? = nil) -> Pod {
        var pod = Pod()
        pod.tokenExpirationAnnotation = expiration
        pod.skipContainersAnnotation = skip
        return pod
    }

    static func account(_ annotations: [String: String]) -> ServiceAccount {
        ServiceAccount(namespace: "default", name: "sa", annotations: annotations)
    }

    @Test func defaultsApplyWithOnlyARole() throws {
        let settings = try #require(PatchConfig().settings(serviceAccount: Self.account(["vultr.com/role-arn": "r"]), pod: Self.pod()))
        #expect(settings == PatchSettings(roleARN: "r", audience: "vultr", tokenExpiration: 86400, regionalSTS: true,
                                          stsEndpoint: "https://api.vultr.com/v2/assumed-roles/compatibility/aws/sts", region: nil,
                                          tokenMountPath: "/var/run/secrets/vultr.com/serviceaccount"))
    }

    /// Pod annotation > ServiceAccount annotation > command-line default.
    @Test(arguments: [
        (nil, nil, 86400),
        (nil, "7200", 7200),
        ("1200", "7200", 1200),
        ("1200", nil, 1200),
        ("60", "7200", 600),
        (nil, "10", 600),
        ("x", "7200", 7200),
        ("x", "y", 86400),
        ("4294967296", nil, 4294967296),
        ("4294967297", "900", 900),
        (" 900 ", nil, 900),
    ] as [(String?, String?, Int)])
    func tokenExpirationPrecedence(_ podValue: String?, _ accountValue: String?, _ expected: Int) throws {
        var annotations = ["vultr.com/role-arn": "r"]
        annotations["vultr.com/token-expiration"] = accountValue
        let settings = try #require(PatchConfig().settings(serviceAccount: Self.account(annotations), pod: Self.pod(expiration: podValue)))
        #expect(settings.tokenExpiration == expected)
        let unparseable = [podValue, accountValue].compactMap { $0 }.filter { PatchConfig.parseSeconds($0) == nil }
        #expect(settings.warnings.count == unparseable.count)
    }

    @Test func roleAnnotationAndLegacyAlias() {
        let config = PatchConfig()
        #expect(config.settings(serviceAccount: Self.account(["api.vultr.com/role": "legacy"]), pod: Self.pod())?.roleARN == "legacy")
        #expect(config.settings(serviceAccount: Self.account(["api.vultr.com/role": "legacy", "vultr.com/role-arn": "new"]), pod: Self.pod())?.roleARN == "new")
        #expect(config.settings(serviceAccount: Self.account(["vultr.com/role-arn": ""]), pod: Self.pod()) == nil)
        #expect(config.settings(serviceAccount: Self.account([:]), pod: Self.pod()) == nil)
        let custom = PatchConfig(annotationPrefix: "example.org")
        #expect(custom.settings(serviceAccount: Self.account(["vultr.com/role-arn": "r"]), pod: Self.pod()) == nil)
        #expect(custom.settings(serviceAccount: Self.account(["example.org/role-arn": "r"]), pod: Self.pod())?.roleARN == "r")
    }

    @Test(arguments: [("false", false), ("0", false), ("False", false), ("true", true), ("T", true), ("no", true)])
    func regionalEndpointsFlag(_ value: String, _ expected: Bool) throws {
        let settings = try #require(PatchConfig().settings(serviceAccount: Self.account(["vultr.com/role-arn": "r", "vultr.com/sts-regional-endpoints": value]), pod: Self.pod()))
        #expect(settings.regionalSTS == expected)
        #expect(settings.warnings.count == (value == "no" ? 1 : 0))
        #expect(settings.warnings.first?.contains("vultr.com/sts-regional-endpoints=\"no\"") ?? true)
    }

    @Test func skipListIsTrimmedAndEmptyConfigDisables() throws {
        let config = PatchConfig(stsEndpoint: "", region: "")
        let settings = try #require(config.settings(serviceAccount: Self.account(["vultr.com/role-arn": "r"]), pod: Self.pod(skip: " a ,b,, \tc\t,")))
        #expect(settings.skippedContainers == ["a", "b", "c"])
        #expect(settings.stsEndpoint == nil)
        #expect(settings.region == nil)
    }

    @Test func longBadValuesAreShortenedInWarnings() throws {
        let value = String(repeating: "9x", count: 500)
        let settings = try #require(PatchConfig().settings(serviceAccount: Self.account(["vultr.com/role-arn": "r"]), pod: Self.pod(expiration: value)))
        #expect(settings.warnings.count == 1)
        #expect(settings.warnings[0].count < 200)
    }
}

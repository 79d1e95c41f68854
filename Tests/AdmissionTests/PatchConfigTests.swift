import Testing
@testable import Admission

@Suite struct PatchConfigTests {
    static func pod(expiration: String? = nil, skip: String? = nil, region: String? = nil, containers: [String] = []) -> Pod {
        var pod = Pod()
        pod.tokenExpirationAnnotation = expiration
        pod.skipContainersAnnotation = skip
        pod.regionAnnotation = region
        pod.containers = containers.map { Pod.Container(name: $0) }
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

    /// Pod annotation > ServiceAccount annotation > command-line default; a value outside
    /// 600...31536000 (the flag's bounds) is ignored like one that does not parse.
    @Test(arguments: [
        (nil, nil, 86400),
        (nil, "7200", 7200),
        ("1200", "7200", 1200),
        ("1200", nil, 1200),
        ("60", "7200", 7200),
        (nil, "10", 86400),
        ("x", "7200", 7200),
        ("x", "y", 86400),
        ("600", "31536000", 600),
        (nil, "31536000", 31536000),
        ("999999999", "900", 900),
        (nil, "31536001", 86400),
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
        #expect(settings.warnings.allSatisfy { $0.contains("from 600 to 31536000") }, "\(settings.warnings)")
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

    /// Pod `<prefix>/region` > ServiceAccount `<prefix>/region` > `--region`; a value that is not
    /// 1-32 lowercase letters, digits and hyphens is ignored with a warning and the next applies.
    @Test(arguments: [
        (nil, nil, nil, nil, 0),
        ("ewr", nil, nil, "ewr", 0),
        ("ewr", "ams", nil, "ams", 0),
        ("ewr", "ams", "sjc", "sjc", 0),
        (nil, nil, "us-east-1", "us-east-1", 0),
        ("ewr", "AMS", nil, "ewr", 1),
        ("ewr", "ams", "", "ams", 1),
        (nil, "ams", "x y", "ams", 1),
        (nil, String(repeating: "a", count: 32), nil, String(repeating: "a", count: 32), 0),
        ("ewr", String(repeating: "a", count: 33), "no_underscores", "ewr", 2),
    ] as [(String?, String?, String?, String?, Int)])
    func regionPrecedence(_ flag: String?, _ accountValue: String?, _ podValue: String?, _ expected: String?, _ warnings: Int) throws {
        var annotations = ["vultr.com/role-arn": "r"]
        annotations["vultr.com/region"] = accountValue
        let settings = try #require(PatchConfig(region: flag).settings(serviceAccount: Self.account(annotations), pod: Self.pod(region: podValue)))
        #expect(settings.region == expected)
        #expect(settings.variables.contains(.region) == (expected != nil))
        #expect(settings.variables.contains(.defaultRegion) == (expected != nil))
        #expect(settings.warnings.count == warnings, "\(settings.warnings)")
        #expect(settings.warnings.allSatisfy { $0.contains("vultr.com/region") && $0.contains("not a region name") })
    }

    /// A skip-containers name the pod has no container for is named in a warning; names that
    /// match an init container or a container are not.
    @Test func skipListNamingMissingContainersWarns() throws {
        var pod = Self.pod(skip: "app, init,ghost ,phantom", containers: ["app", "sidecar"])
        pod.initContainers = [Pod.Container(name: "init")]
        let settings = try #require(PatchConfig().settings(serviceAccount: Self.account(["vultr.com/role-arn": "r"]), pod: pod))
        #expect(settings.skippedContainers == ["app", "init", "ghost", "phantom"])
        #expect(settings.warnings.count == 2)
        #expect(settings.warnings.first?.contains("vultr.com/skip-containers names container \"ghost\", which the pod does not have") == true)
        #expect(settings.warnings.last?.contains("\"phantom\"") == true)
    }
}

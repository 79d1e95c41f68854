import Testing
@testable import Admission
import PatchVerification

@Suite struct PodPatchTests {
    static let settings = PatchSettings(roleARN: "arn:aws:iam::1:role/r", audience: "vultr", tokenExpiration: 3600, regionalSTS: true,
                                        stsEndpoint: "https://sts.example", region: nil, tokenMountPath: "/var/run/secrets/vultr.com/serviceaccount")

    /// Absent arrays are added whole; existing ones are appended to element by element, in array order.
    @Test func operationsFollowArrayState() throws {
        var pod = Pod()
        pod.hasSpec = true
        pod.hasVolumes = true
        pod.initContainers = [Pod.Container(name: "init", hasEnv: true, definedVariables: [.roleARN, .endpointURLSTS], hasVolumeMounts: false)]
        pod.containers = [
            Pod.Container(name: "a"),
            Pod.Container(name: "b", hasEnv: true, definedVariables: [.roleARN, .webIdentityTokenFile, .stsRegionalEndpoints, .endpointURLSTS],
                          hasVolumeMounts: true, hasTokenMount: true),
        ]
        let patch = try JSONParser.parse(PodPatch.patch(for: pod, settings: Self.settings).bytes)
        let paths = patch.arrayValue?.compactMap { $0["path"]?.stringValue }
        #expect(paths == [
            "/spec/volumes/-",
            "/spec/initContainers/0/env/-", "/spec/initContainers/0/env/-", "/spec/initContainers/0/volumeMounts",
            "/spec/containers/0/env", "/spec/containers/0/volumeMounts",
        ])
        #expect(patch.arrayValue?[1]["value"] == ["name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/var/run/secrets/vultr.com/serviceaccount/token"])
        #expect(patch.arrayValue?.allSatisfy { $0["op"] == "add" } == true)
    }

    @Test func nothingMissingMeansEmptyPatch() {
        var pod = Pod()
        pod.hasSpec = true
        pod.hasTokenVolume = true
        pod.containers = [Pod.Container(name: "a", hasEnv: true, definedVariables: [.roleARN, .webIdentityTokenFile, .stsRegionalEndpoints, .endpointURLSTS],
                                        hasVolumeMounts: true, hasTokenMount: true)]
        let patch = PodPatch.patch(for: pod, settings: Self.settings)
        let isEmpty = patch.isEmpty
        let bytes = patch.bytes
        #expect(isEmpty)
        #expect(bytes == Array("[]".utf8))
    }

    /// When every init container and container is skipped nothing uses the token, so not even
    /// the volume is added; one container left is enough for the volume.
    @Test func everyContainerSkippedMeansNoVolume() throws {
        var pod = Pod()
        pod.hasSpec = true
        pod.initContainers = [Pod.Container(name: "init")]
        pod.containers = [Pod.Container(name: "a"), Pod.Container(name: "b")]
        var settings = Self.settings
        settings.skippedContainers = ["init", "a", "b"]
        let isEmpty = PodPatch.patch(for: pod, settings: settings).isEmpty
        #expect(isEmpty)
        let mutation = PodMutation(pod: pod, serviceAccount: ServiceAccount(namespace: "default", name: "default", annotations: [
            "vultr.com/role-arn": "r", "vultr.com/skip-containers": "ignored on a ServiceAccount"]), configuration: PatchConfig())
        #expect(mutation.skipReason == nil, "without the pod annotation nothing is skipped")
        settings.skippedContainers = ["init", "a"]
        let paths = try JSONParser.parse(PodPatch.patch(for: pod, settings: settings).bytes).arrayValue?.compactMap { $0["path"]?.stringValue }
        #expect(paths == ["/spec/volumes", "/spec/containers/1/env", "/spec/containers/1/volumeMounts"])
    }

    /// Without a spec no path exists, so nothing is patched (the API server never sends such a pod).
    @Test func podWithoutSpecIsNotPatched() async throws {
        let handler = AdmissionHandler(configuration: PatchConfig(), serviceAccounts: StaticServiceAccountSource([
            ServiceAccount(namespace: "default", name: "default", annotations: ["vultr.com/role-arn": "r"]),
        ]), failClosed: false)
        for pod: JSONValue in [["metadata": ["name": "p"]], ["metadata": ["name": "p"], "spec": nil]] {
            let reviewed = try await ReviewHarness.review(handler, pod: pod)
            #expect(reviewed.outcome.result == .skipped(.alreadyMutated))
            #expect(reviewed.patch == nil)
        }
    }

    /// Random pod shapes and region annotations (fixed seed): the patch always applies under RFC
    /// 6902, gives each container exactly what it lacks (never overriding its own AWS_REGION or
    /// AWS_DEFAULT_REGION), and a second review yields no operation.
    @Test func randomPodShapes() async throws {
        var generator = SeededGenerator(seed: 0x1257)
        for round in 0..<250 {
            let region: String? = Bool.random(using: &generator) ? "ewr" : nil
            let stsEndpoint = ["", "https://sts.example/v1"].randomElement(using: &generator)!
            let regionalSTS = Bool.random(using: &generator)
            let configuration = PatchConfig(stsEndpoint: stsEndpoint, region: region)
            var annotations: [String: String] = ["vultr.com/role-arn": "arn:aws:iam::1:role/r\(round)"]
            if !regionalSTS { annotations["vultr.com/sts-regional-endpoints"] = "false" }
            // Region annotations, valid or not, on the ServiceAccount and the pod: the last valid one wins.
            let regionValues = [nil, nil, "ams", "sjc-2", "", "EWR", "us east"]
            let accountRegion = regionValues.randomElement(using: &generator)!
            let podRegion = regionValues.randomElement(using: &generator)!
            annotations["vultr.com/region"] = accountRegion
            let account = ServiceAccount(namespace: "default", name: "app-sa", annotations: annotations)
            let handler = AdmissionHandler(configuration: configuration, serviceAccounts: StaticServiceAccountSource([account]), failClosed: false)

            var (pod, skipped) = Self.randomPod(using: &generator)
            if let podRegion { pod["metadata"]?["annotations"]?["vultr.com/region"] = .string(podRegion) }
            let effectiveRegion = [podRegion, accountRegion, region].compactMap { $0 }.first(where: PatchConfig.isRegionName)
            let reviewed = try await ReviewHarness.review(handler, pod: pod)
            let badRegions = [accountRegion, podRegion].compactMap { $0 }.filter { !PatchConfig.isRegionName($0) }
            #expect(reviewed.warnings.filter { $0.contains("vultr.com/region") }.count == badRegions.count, "round \(round)")
            var expectedEnv = ["AWS_ROLE_ARN": "arn:aws:iam::1:role/r\(round)",
                               "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/vultr.com/serviceaccount/token"]
            if regionalSTS { expectedEnv["AWS_STS_REGIONAL_ENDPOINTS"] = "regional" }
            if !stsEndpoint.isEmpty { expectedEnv["AWS_ENDPOINT_URL_STS"] = stsEndpoint }
            if let effectiveRegion { expectedEnv["AWS_REGION"] = effectiveRegion; expectedEnv["AWS_DEFAULT_REGION"] = effectiveRegion }
            MutationInvariants(mountPath: configuration.tokenMountPath, expectedEnv: expectedEnv, token: ("vultr", 86400), untouched: skipped)
                .check(original: pod, patched: reviewed.patched)
            let again = try await ReviewHarness.review(handler, pod: reviewed.patched)
            #expect(again.patch == nil, "round \(round): \(again.patch?.serialized ?? "")")
            let unchanged: [AdmissionOutcome.Result] = [.skipped(.alreadyMutated), .skipped(.allContainersSkipped)]
            #expect(unchanged.contains(again.outcome.result) || unchanged.contains(reviewed.outcome.result))
        }
    }

    static func randomPod(using generator: inout SeededGenerator) -> (JSONValue, Set<String>) {
        let variableNames = ["AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_STS_REGIONAL_ENDPOINTS", "AWS_ENDPOINT_URL_STS",
                             "AWS_REGION", "AWS_DEFAULT_REGION", "OTHER", "AWS_ROLE", "aws_region"]
        func randomArray(_ element: (inout SeededGenerator) -> JSONValue) -> JSONValue? {
            switch Int.random(in: 0..<4, using: &generator) {
            case 0: return nil
            case 1: return .null
            default: return .array((0..<Int.random(in: 0..<4, using: &generator)).map { _ in element(&generator) })
            }
        }
        var usedNames: [String] = []
        func container(_ prefix: String) -> JSONValue {
            let name = "\(prefix)-\(usedNames.count)"
            usedNames.append(name)
            var value: JSONValue = ["name": .string(name), "image": "img:1"]
            if let env = randomArray({ generator in
                let variable = variableNames.randomElement(using: &generator)!
                return Bool.random(using: &generator)
                    ? ["name": .string(variable), "value": "user"]
                    : ["name": .string(variable), "valueFrom": ["fieldRef": ["fieldPath": "metadata.name"]]]
            }) { value["env"] = env }
            if let mounts = randomArray({ generator in
                let path = ["/data", "/var/run/secrets/vultr.com/serviceaccount", "/var/run/secrets/vultr.com"].randomElement(using: &generator)!
                return ["name": "v", "mountPath": .string(path)]
            }) { value["volumeMounts"] = mounts }
            return value
        }
        var spec: JSONValue = ["serviceAccountName": "app-sa"]
        spec["containers"] = .array((0..<Int.random(in: 1..<6, using: &generator)).map { _ in container("c") })
        if Bool.random(using: &generator) {
            spec["initContainers"] = .array((0..<Int.random(in: 0..<3, using: &generator)).map { _ in container("init") })
        }
        if Int.random(in: 0..<4, using: &generator) == 0 {
            spec["ephemeralContainers"] = .array([container("debug")])
        }
        if let volumes = randomArray({ generator in
            ["name": .string(["data", "vultr-irsa-token", "cfg"].randomElement(using: &generator)!), "emptyDir": [:]]
        }) { spec["volumes"] = volumes }
        var skipped: Set<String> = []
        var metadataAnnotations: [(String, JSONValue)] = []
        if Bool.random(using: &generator), let name = usedNames.randomElement(using: &generator) {
            skipped.insert(name)
            metadataAnnotations.append(("vultr.com/skip-containers", .string(" \(name) , unknown")))
        }
        let pod: JSONValue = ["apiVersion": "v1", "kind": "Pod",
                              "metadata": ["name": "random", "namespace": "default", "annotations": .object(metadataAnnotations)],
                              "spec": spec]
        return (pod, skipped)
    }
}

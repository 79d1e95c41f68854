import Foundation
import PatchVerification
import Testing
import TestKubernetesAPI
import Yams

/// `irsa-webhook mutate`, run as the real binary on manifests in files and on standard input.
@Suite struct MutateCommandTests {
    static let role = "arn:aws:iam::111122223333:role/web"
    static let serviceAccount = """
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: web
          namespace: shop
          annotations:
            vultr.com/role-arn: \(role)
        """

    /// A workload of `kind` whose pod runs as shop/web, with one container that has env and one that has none.
    static func workload(_ kind: String, name: String = "web") -> String {
        let spec = """
            spec:
              serviceAccountName: web
              containers:
              - name: app
                image: registry.example/app:1
                env:
                - name: PORT
                  value: "8080"
              - name: helper
                image: registry.example/helper:1
            """
        let template = "metadata:\n  labels: {app: web}\n" + spec
        let apiVersion = ["Pod": "v1", "Job": "batch/v1", "CronJob": "batch/v1"][kind] ?? "apps/v1"
        var text = "apiVersion: \(apiVersion)\nkind: \(kind)\nmetadata:\n  name: \(name)\n  namespace: shop\n"
        switch kind {
        case "Pod": text += spec
        case "CronJob": text += "spec:\n  schedule: '@hourly'\n  jobTemplate:\n    spec:\n      template:\n" + indent(template, 8)
        default: text += "spec:\n  replicas: 2\n  template:\n" + indent(template, 4)
        }
        return text
    }

    static func indent(_ text: String, _ spaces: Int) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.isEmpty ? "" : String(repeating: " ", count: spaces) + $0 }.joined(separator: "\n")
    }

    static func mutate(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:]) async throws -> TestTools.Result {
        try await TestTools.run([WebhookProcess.binaryPath, "mutate"] + arguments, environment: environment, stdin: stdin)
    }

    /// The pod (template) of a parsed workload document.
    static func podOf(_ document: Node) -> Node? {
        switch document["kind"]?.string {
        case "Pod": document
        case "CronJob": document["spec"]?["jobTemplate"]?["spec"]?["template"]
        default: document["spec"]?["template"]
        }
    }

    static func documents(_ yaml: String) throws -> [Node] {
        try Array(Yams.compose_all(yaml: yaml))
    }

    static func env(_ container: Node?) -> [String: String] {
        var env: [String: String] = [:]
        for entry in container?["env"]?.sequence ?? [] {
            if let name = entry["name"]?.string { env[name] = entry["value"]?.string }
        }
        return env
    }

    /// Each kind's pod template gets the role, the token volume and the mounts; everything else is
    /// kept as it was, in order; mutating the output again changes nothing.
    @Test(arguments: ["Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"])
    func eachWorkloadKindIsMutated(kind: String) async throws {
        let input = Self.serviceAccount + "\n---\n" + Self.workload(kind)
        let result = try await Self.mutate(["--region", "ewr", "-"], stdin: input)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty, "\(result.stderr)")
        let output = try Self.documents(result.stdout)
        let original = try Self.documents(input)
        #expect(output.count == 2)
        #expect(output.first == original.first, "the ServiceAccount passes through")
        let pod = try #require(Self.podOf(output[1]))
        let containers = pod["spec"]?["containers"]?.sequence ?? []
        #expect(containers.count == 2)
        for container in containers {
            let env = Self.env(container)
            #expect(env["AWS_ROLE_ARN"] == Self.role)
            #expect(env["AWS_WEB_IDENTITY_TOKEN_FILE"] == "/var/run/secrets/vultr.com/serviceaccount/token")
            #expect(env["AWS_REGION"] == "ewr" && env["AWS_DEFAULT_REGION"] == "ewr")
            #expect(container["volumeMounts"]?.sequence?.first?["mountPath"]?.string == "/var/run/secrets/vultr.com/serviceaccount")
        }
        #expect(containers.first?["env"]?.sequence?.first?["name"]?.string == "PORT", "existing env stays first")
        #expect(containers.first?["env"]?.sequence?.first?["value"] == Node("8080", Tag(.str), .doubleQuoted))
        let volume = pod["spec"]?["volumes"]?.sequence?.first
        #expect(volume?["name"]?.string == "vultr-irsa-token")
        #expect(volume?["projected"]?["sources"]?[0]?["serviceAccountToken"]?["expirationSeconds"]?.int == 86400)
        if kind != "Pod" {
            #expect(output[1]["spec"]?["replicas"]?.int == (kind == "CronJob" ? nil : 2))
            #expect(pod["metadata"]?["labels"]?["app"]?.string == "web")
        }
        let keys = output[1].mapping.map { Array($0.keys.compactMap(\.string)) }
        #expect(keys == original[1].mapping.map { Array($0.keys.compactMap(\.string)) }, "top-level fields keep their order")

        let again = try await Self.mutate(["--region", "ewr", "-"], stdin: result.stdout)
        #expect(again.status == 0)
        #expect(again.stdout == result.stdout, "mutating the output again changes nothing")
    }

    /// Several documents: the ServiceAccount after the workload still applies, other kinds
    /// (and a Deployment of another API group) pass through unchanged, and the order is kept.
    @Test func multiDocumentInputKeepsOrderAndPassesOtherKindsThrough() async throws {
        let others = [
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\ndata:\n  flag: \"on\"\n  script: |\n    echo one\n    echo two\n",
            "apiVersion: example.com/v1\nkind: Deployment\nmetadata:\n  name: custom\nspec:\n  template:\n    spec:\n      serviceAccountName: web\n      containers: [{name: x}]\n",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n    targetPort: 8080\n",
        ]
        let input = [others[0], Self.workload("Deployment"), others[1], Self.workload("CronJob", name: "report"), others[2], Self.serviceAccount]
            .joined(separator: "\n---\n")
        let result = try await Self.mutate(["-"], stdin: input)
        #expect(result.status == 0, "\(result.stderr)")
        let output = try Self.documents(result.stdout)
        let original = try Self.documents(input)
        #expect(output.map { $0["kind"]?.string } == original.map { $0["kind"]?.string })
        for index in [0, 2, 4, 5] {
            #expect(output[index] == original[index], "document \(index + 1) passes through unchanged")
        }
        #expect(output[0]["data"]?["flag"]?.string == "on" && output[0]["data"]?["flag"]?.bool == nil, "a quoted string stays a string")
        #expect(result.stdout.contains("script: |\n    echo one\n    echo two\n"), "block scalars keep their style")
        for index in [1, 3] {
            #expect(Self.env(Self.podOf(output[index])?["spec"]?["containers"]?[0])["AWS_ROLE_ARN"] == Self.role)
        }
    }

    /// A `List`, as `kubectl get -o yaml` prints several objects: its items are mutated in place
    /// (a ServiceAccount among them counts), and --patch paths start at the item.
    @Test func listItemsAreMutatedInPlace() async throws {
        let items = [Self.serviceAccount, Self.workload("Deployment"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n",
                     Self.workload("Pod")]
        let list = "apiVersion: v1\nkind: List\nitems:\n" + items.map { "- " + Self.indent($0, 2).dropFirst(2) }.joined(separator: "\n") + "\n"
        let result = try await Self.mutate(["--explain", "-"], stdin: list)
        #expect(result.status == 0, "\(result.stderr)")
        let output = try #require(try Self.documents(result.stdout).first)
        let original = try #require(try Self.documents(list).first)
        #expect(output["kind"]?.string == "List")
        let mutated = try #require(output["items"]?.sequence)
        #expect(mutated.count == 4 && mutated[0] == original["items"]?[0] && mutated[2] == original["items"]?[2])
        for index in [1, 3] {
            #expect(Self.env(Self.podOf(mutated[index])?["spec"]?["containers"]?[0])["AWS_ROLE_ARN"] == Self.role)
        }
        #expect(result.stderr.contains("<stdin>: document 1, items[1] (Deployment shop/web): ServiceAccount shop/web from "
            + "<stdin>: document 1, items[0] (ServiceAccount shop/web)"), "\(result.stderr)")

        let patches = try await Self.mutate(["--patch", "-"], stdin: list)
        let entries = try #require(try JSONParser.parse(patches.stdout).arrayValue)
        #expect(entries.map { $0["item"]?.intValue } == [1, 3])
        #expect(entries.first?["patch"]?.arrayValue?.first?["path"]?.stringValue == "/items/1/spec/template/spec/volumes")
    }

    /// ServiceAccount documents in the input win over --service-accounts-file; pods whose
    /// account is only in the file get the file's.
    @Test func serviceAccountFromTheInputWinsOverTheFile() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let fileRole = "arn:aws:iam::111122223333:role/from-file"
        let file = try TestTools.write("""
            apiVersion: v1
            kind: ServiceAccount
            metadata: {name: web, namespace: shop, annotations: {vultr.com/role-arn: "\(fileRole)"}}
            """, to: "accounts.yaml", in: directory)
        let workloadFile = try TestTools.write(Self.workload("Deployment"), to: "deployment.yaml", in: directory)
        let saFile = try TestTools.write(Self.serviceAccount, to: "sa.yaml", in: directory)

        let fromFile = try await Self.mutate(["--service-accounts-file", file, "--explain", workloadFile])
        #expect(fromFile.status == 0, "\(fromFile.stderr)")
        #expect(Self.env(Self.podOf(try Self.documents(fromFile.stdout)[0])?["spec"]?["containers"]?[0])["AWS_ROLE_ARN"] == fileRole)
        #expect(fromFile.stderr.contains("ServiceAccount shop/web from --service-accounts-file \(file)"), "\(fromFile.stderr)")

        let fromInput = try await Self.mutate(["--service-accounts-file", file, "--explain", saFile, workloadFile])
        #expect(fromInput.status == 0, "\(fromInput.stderr)")
        #expect(Self.env(Self.podOf(try Self.documents(fromInput.stdout)[1])?["spec"]?["containers"]?[0])["AWS_ROLE_ARN"] == Self.role)
        #expect(fromInput.stderr.contains("ServiceAccount shop/web from \(saFile): document 1 (ServiceAccount shop/web)"), "\(fromInput.stderr)")
    }

    /// Without any ServiceAccount the pod is printed unchanged with a warning; --strict makes
    /// that exit 1, as it does an ignored annotation value. Without warnings --strict exits 0.
    @Test func warningsGoToStandardErrorAndStrictExitsOne() async throws {
        let missing = try await Self.mutate(["-"], stdin: Self.workload("Pod"))
        #expect(missing.status == 0)
        #expect(try Self.documents(missing.stdout) == (try Self.documents(Self.workload("Pod"))))
        #expect(missing.stderr == "irsa-webhook: warning: <stdin>: document 1 (Pod shop/web): ServiceAccount shop/web not found in "
            + "the input (no --service-accounts-file or --kubeconfig): no role\n")
        #expect(try await Self.mutate(["--strict", "-"], stdin: Self.workload("Pod")).status == 1)

        let badRegion = Self.serviceAccount + "\n    vultr.com/region: US-EAST\n---\n" + Self.workload("Pod")
        let warned = try await Self.mutate(["--strict", "-"], stdin: badRegion)
        #expect(warned.status == 1)
        #expect(warned.stderr.contains("ignored ServiceAccount annotation vultr.com/region=\"US-EAST\": not a region name"), "\(warned.stderr)")
        #expect(!warned.stdout.isEmpty, "the manifests are printed all the same")
        let clean = try await Self.mutate(["--strict", "-"], stdin: Self.serviceAccount + "\n---\n" + Self.workload("Pod"))
        #expect(clean.status == 0 && clean.stderr.isEmpty, "\(clean.stderr)")
    }

    /// --explain: per pod, the ServiceAccount and where it came from, the annotations read, what
    /// was left alone and why, and the result.
    @Test func explainSaysWhatWasReadAndSkipped() async throws {
        let account = Self.serviceAccount + "\n    vultr.com/region: ams\n    vultr.com/token-expiration: \"3600\""
        let pod = Self.workload("Pod").replacingOccurrences(of: "metadata:\n  name: web\n", with:
            "metadata:\n  name: web\n  annotations:\n    vultr.com/skip-containers: helper\n")
            .replacingOccurrences(of: "value: \"8080\"", with: "value: \"8080\"\n    - name: AWS_REGION\n      value: mine")
            .replacingOccurrences(of: "image: registry.example/app:1\n", with: "image: registry.example/app:1\n    envFrom:\n    - configMapRef: {name: aws}\n")
            .replacingOccurrences(of: "image: registry.example/helper:1", with: "image: registry.example/helper:1\n    envFrom: [{secretRef: {name: s}}]")
        let result = try await Self.mutate(["--explain", "-"], stdin: account + "\n---\n" + pod)
        #expect(result.status == 0, "\(result.stderr)")
        let line = try #require(result.stderr.split(separator: "\n").first { $0.contains("explain:") })
        for part in [
            "<stdin>: document 2 (Pod shop/web): ServiceAccount shop/web from <stdin>: document 1 (ServiceAccount shop/web)",
            "read ServiceAccount vultr.com/role-arn=\"\(Self.role)\", ServiceAccount vultr.com/token-expiration=\"3600\", "
                + "ServiceAccount vultr.com/region=\"ams\", pod vultr.com/skip-containers=\"helper\"",
            "skipped containers helper (vultr.com/skip-containers)",
            "container app keeps its own AWS_REGION (AWS_DEFAULT_REGION refers to it)",
            "container app has envFrom, which the webhook cannot see: what it adds wins over the same names there",
            "mutated: role \(Self.role), audience vultr, token 3600 s, region ams",
        ] {
            #expect(line.contains(part), "explain lacks \(part): \(line)")
        }
        #expect(!line.contains("container helper has envFrom"), "a skipped container gets nothing: \(line)")
        let unmutated = try await Self.mutate(["--explain", "-"], stdin: Self.workload("Job"))
        #expect(unmutated.stderr.contains("not mutated: no such ServiceAccount"), "\(unmutated.stderr)")
    }

    /// A container built from an anchor with a merge key (`<<: *base`) has the merged env, as
    /// kubectl reads it: its own AWS_REGION is kept (AWS_DEFAULT_REGION follows it), and the
    /// output holds the merged members.
    @Test func mergeKeysAreReadAsKubectlReadsThem() async throws {
        let pod = Self.workload("Pod").replacingOccurrences(of: "  - name: helper\n    image: registry.example/helper:1", with: """
              - <<: &base
                  image: registry.example/helper:1
                  env:
                  - name: AWS_REGION
                    value: mine
                name: helper
              - <<: *base
                name: helper-2
            """)
        let result = try await Self.mutate(["--region", "ewr", "-"], stdin: Self.serviceAccount + "\n---\n" + pod)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!result.stdout.contains("<<"), "\(result.stdout)")
        let containers = try #require(Self.podOf(try Self.documents(result.stdout)[1])?["spec"]?["containers"]?.sequence)
        #expect(containers.count == 3)
        for container in containers.dropFirst() {
            #expect(container["image"]?.string == "registry.example/helper:1")
            let env = Self.env(container)
            #expect(env["AWS_REGION"] == "mine" && env["AWS_DEFAULT_REGION"] == "$(AWS_REGION)" && env["AWS_ROLE_ARN"] == Self.role, "\(env)")
        }
    }

    /// A pod labelled vultr.com/skip-irsa-webhook: "true" is never sent to the webhook (the
    /// shipped configuration's objectSelector), so it is printed unchanged and --explain says
    /// why; any other value of the label is sent as usual.
    @Test func podsLabelledToSkipTheWebhookAreLeftAlone() async throws {
        let labelled = { (value: String) in
            Self.workload("Deployment").replacingOccurrences(of: "labels: {app: web}", with: "labels: {app: web, vultr.com/skip-irsa-webhook: \"\(value)\"}")
        }
        let input = Self.serviceAccount + "\n---\n" + labelled("true")
        let result = try await Self.mutate(["--explain", "--strict", "-"], stdin: input)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(try Self.documents(result.stdout) == (try Self.documents(input)))
        #expect(result.stderr == "irsa-webhook: explain: <stdin>: document 2 (Deployment shop/web): not mutated: labelled "
            + "vultr.com/skip-irsa-webhook=\"true\", which the webhook configuration's objectSelector never sends\n")
        let patches = try await Self.mutate(["--patch", "-"], stdin: input)
        #expect(try JSONParser.parse(patches.stdout).arrayValue?.first?["patch"] == [])

        let sent = try await Self.mutate(["-"], stdin: Self.serviceAccount + "\n---\n" + labelled("false"))
        #expect(Self.env(Self.podOf(try Self.documents(sent.stdout)[1])?["spec"]?["containers"]?[0])["AWS_ROLE_ARN"] == Self.role)
    }

    /// -o json prints kubectl's shape (one object, or a List); --patch prints each pod-bearing
    /// object's patch from its root, which the independent RFC 6902 applier turns into exactly
    /// what -o json printed.
    @Test func jsonOutputAndPatchAgree() async throws {
        let input = Self.serviceAccount + "\n---\n" + Self.workload("CronJob") + "\n---\n" + Self.workload("Deployment", name: "api")
        let json = try await Self.mutate(["-o", "json", "-"], stdin: input)
        #expect(json.status == 0, "\(json.stderr)")
        let list = try JSONParser.parse(json.stdout)
        #expect(list["kind"] == "List" && list["apiVersion"] == "v1")
        let items = try #require(list["items"]?.arrayValue)
        #expect(items.count == 3)

        let patches = try await Self.mutate(["--patch", "-"], stdin: input)
        #expect(patches.status == 0, "\(patches.stderr)")
        let entries = try #require(try JSONParser.parse(patches.stdout).arrayValue)
        #expect(entries.map { $0["kind"]?.stringValue } == ["CronJob", "Deployment"])
        #expect(entries.map { $0["document"]?.intValue } == [2, 3])
        let paths = entries[0]["patch"]?.arrayValue?.compactMap { $0["path"]?.stringValue } ?? []
        #expect(paths.first == "/spec/jobTemplate/spec/template/spec/volumes", "\(paths)")
        // Without the ServiceAccount nothing is mutated: the workloads as JSON, as they were.
        let unmutated = try await Self.mutate(["-o", "json", "-"], stdin: Self.workload("CronJob") + "\n---\n" + Self.workload("Deployment", name: "api"))
        let originals = try #require(try JSONParser.parse(unmutated.stdout)["items"]?.arrayValue)
        for (entry, (original, mutated)) in zip(entries, zip(originals, items.dropFirst())) {
            let patch = try #require(entry["patch"])
            #expect(try JSONPatchApplier.apply(patch, to: original) == mutated)
        }

        let single = try await Self.mutate(["-o", "json", "-"], stdin: Self.workload("Pod"))
        #expect(try JSONParser.parse(single.stdout)["kind"] == "Pod")
    }

    /// JSON manifests are read too, and printed as block YAML without JSON's quotes.
    @Test func jsonInputIsPrintedAsPlainYAML() async throws {
        let json = #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"shop"},"spec":{"serviceAccountName":"web","containers":[{"name":"app","image":"img:1","ports":[{"containerPort":8080}],"args":["true","8080"]}]}}"#
        let result = try await Self.mutate(["-"], stdin: Self.serviceAccount + "\n---\n" + json)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("\n  name: p\n") && result.stdout.contains("containerPort: 8080"), "\(result.stdout)")
        #expect(result.stdout.contains("- \"true\"") || result.stdout.contains("- 'true'"), "strings that read as other types stay quoted")
        let pod = try Self.documents(result.stdout)[1]
        #expect(pod["spec"]?["containers"]?[0]?["args"]?[1]?.int == nil, "\"8080\" stays a string")
        #expect(Self.env(pod["spec"]?["containers"]?[0])["AWS_ROLE_ARN"] == Self.role)

        // The same from files, the ServiceAccount as JSON too (a kubectl -o json List).
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let accounts = #"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"web","namespace":"shop","annotations":{"vultr.com/role-arn":"\#(Self.role)"}}}]}"#
        let fromFiles = try await Self.mutate([try TestTools.write(accounts, to: "accounts.json", in: directory),
                                               try TestTools.write(json, to: "pod.json", in: directory)])
        #expect(fromFiles.status == 0, "\(fromFiles.stderr)")
        #expect(try Self.documents(fromFiles.stdout)[1] == pod)
    }

    /// A stream of JSON objects one after another (what `jq -c '.items[]'` prints), which
    /// kubectl reads too: one document each, numbered in order.
    @Test func jsonStreamIsReadAsDocuments() async throws {
        let account = #"{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"web","namespace":"shop","annotations":{"vultr.com/role-arn":"\#(Self.role)"}}}"#
        let pod = #"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"shop"},"spec":{"serviceAccountName":"web","containers":[{"name":"app"}]}}"#
        let result = try await Self.mutate(["--explain", "-o", "json", "-"], stdin: account + "\n" + pod + "  " + pod.replacingOccurrences(of: "\"p\"", with: "\"q\""))
        #expect(result.status == 0, "\(result.stderr)")
        let items = try #require(try JSONParser.parse(result.stdout)["items"]?.arrayValue)
        #expect(items.map { $0["metadata"]?["name"]?.stringValue } == ["web", "p", "q"])
        for item in items.dropFirst() {
            #expect(item["spec"]?["containers"]?.arrayValue?.first?["env"]?.arrayValue?.first?["value"]?.stringValue == Self.role)
        }
        #expect(result.stderr.contains("<stdin>: document 3 (Pod shop/q): ServiceAccount shop/web from <stdin>: document 1"), "\(result.stderr)")

        let broken = try await Self.mutate(["-"], stdin: account + "\n" + pod + "\n" + #"{"kind": "Pod", "spec": [}"#)
        #expect(broken.status == 2)
        #expect(broken.stderr == "irsa-webhook: error: <stdin>: document 3: invalid JSON at byte \(account.utf8.count + pod.utf8.count + 27): "
            + "unexpected character\n", "\(broken.stderr)")
    }

    /// The mutation flags are serve's, environment included: STS_ENDPOINT stands in for an absent
    /// --sts-endpoint, and the prefix, audience, lifetime and mount path apply as they do there.
    @Test func serveFlagsAndEnvironmentDecideTheDefaults() async throws {
        let account = Self.serviceAccount.replacingOccurrences(of: "vultr.com/role-arn", with: "example.org/role-arn")
        let input = account + "\n---\n" + Self.workload("Pod")
        let arguments = ["--annotation-prefix", "example.org", "--token-audience", "sts.example", "--token-expiration", "1h",
                         "--token-mount-path", "/var/run/token/", "-"]
        let result = try await Self.mutate(arguments, stdin: input, environment: ["STS_ENDPOINT": "https://sts.example/v1"])
        #expect(result.status == 0, "\(result.stderr)")
        let pod = try Self.documents(result.stdout)[1]
        let env = Self.env(pod["spec"]?["containers"]?[0])
        #expect(env["AWS_ENDPOINT_URL_STS"] == "https://sts.example/v1")
        #expect(env["AWS_WEB_IDENTITY_TOKEN_FILE"] == "/var/run/token/token")
        let token = pod["spec"]?["volumes"]?[0]?["projected"]?["sources"]?[0]?["serviceAccountToken"]
        #expect(token?["audience"]?.string == "sts.example" && token?["expirationSeconds"]?.int == 3600)
        let withoutNamespaces = (Self.serviceAccount + "\n---\n" + Self.workload("Deployment")).replacingOccurrences(of: "  namespace: shop\n", with: "")
        let inNamespace = try await Self.mutate(["-n", "shop", "--explain", "-"], stdin: withoutNamespaces)
        #expect(inNamespace.stderr.contains("ServiceAccount shop/web from <stdin>: document 1 (ServiceAccount web)"), "\(inNamespace.stderr)")
        let flagWins = try await Self.mutate(["--sts-endpoint", "", "-"], stdin: Self.serviceAccount + "\n---\n" + Self.workload("Pod"),
                                             environment: ["STS_ENDPOINT": "https://sts.example/v1"])
        #expect(Self.env(try Self.documents(flagWins.stdout)[1]["spec"]?["containers"]?[0])["AWS_ENDPOINT_URL_STS"] == nil)
    }

    /// The README's example on deploy/dev: both workloads get their account's role, the
    /// CronJob's pod annotation beats its account's region, the sidecar and the Service are left alone.
    @Test func deployDevExample() async throws {
        let result = try await TestTools.run([
            WebhookProcess.binaryPath, "mutate", "--strict", "--service-accounts-file", "deploy/dev/serviceaccounts.yaml",
            "deploy/dev/workloads.yaml",
        ], in: TestTools.root, environment: [:])
        #expect(result.status == 0 && result.stderr.isEmpty, "\(result.stderr)")
        let output = try Self.documents(result.stdout)
        let original = try Self.documents(try String(contentsOf: TestTools.root.appendingPathComponent("deploy/dev/workloads.yaml"), encoding: .utf8))
        #expect(output.map { $0["kind"]?.string } == ["Deployment", "Service", "CronJob"])
        #expect(output[1] == original[1])
        let web = Self.podOf(output[0])?["spec"]?["containers"]
        #expect(Self.env(web?[0])["AWS_ROLE_ARN"] == "arn:aws:iam::111122223333:role/app-sa-role")
        #expect(web?[1] == Self.podOf(original[0])?["spec"]?["containers"]?[1], "the skipped sidecar is untouched")
        let report = Self.env(Self.podOf(output[2])?["spec"]?["containers"]?[0])
        #expect(report["AWS_ROLE_ARN"] == "arn:aws:iam::111122223333:role/batch-role")
        #expect(report["AWS_REGION"] == "ewr" && report["AWS_DEFAULT_REGION"] == "ewr")
    }

    /// Bad input: exit code 2 and one line naming the source, the document and the field.
    @Test(arguments: [
        ("kind: ConfigMap\n---\nkind: Pod\nmetadata: {name: [\n", "<stdin>: document 2: bad YAML: line "),
        ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        env: oops\n",
         "<stdin>: document 1 (Deployment web): spec.template.spec.containers[0].env: not what a Pod has here"),
        ("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {schedule: x}\n",
         "<stdin>: document 1 (CronJob c): spec.jobTemplate: missing or not a mapping"),
        ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    vultr.com/token-expiration: 3600\nspec: {containers: [{name: a}]}\n",
         "<stdin>: document 1 (Pod p): metadata.annotations.vultr.com/token-expiration: not what a Pod has here"),
        ("just a string\n", "<stdin>: document 1: not a mapping (an object)"),
        ("metadata: {name: x}\n", "<stdin>: document 1: kind: missing"),
        ("apiVersion: v1\nkind: ServiceAccount\nmetadata: {namespace: x}\n", "<stdin>: document 1 (ServiceAccount x/): metadata.name is missing"),
        (serviceAccount + "\n---\n" + serviceAccount,
         "<stdin>: document 2 (ServiceAccount shop/web): ServiceAccount shop/web is listed again (first in <stdin>: document 1 (ServiceAccount shop/web))"),
    ])
    func badInputExitsTwoWithOneLine(input: String, message: String) async throws {
        let result = try await Self.mutate(["-"], stdin: input)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.hasPrefix("irsa-webhook: error: " + message), "\(result.stderr)")
    }

    @Test(arguments: [
        ([String](), "mutate needs manifest files"),
        (["-o", "xml", "-"], "--output must be yaml or json"),
        (["--service-accounts-file", "a.yaml", "--kubeconfig", "b", "-"], "exclude each other"),
        (["--token-expiration", "999999999", "-"], "--token-expiration must be whole seconds from 600 (10m) to 31536000"),
        (["--api-timeout", "-1s", "-"], "--api-timeout must not be negative"),
        (["--region", "EWR", "-"], "--region must be"),
        (["/nonexistent/manifest.yaml"], "/nonexistent/manifest.yaml: cannot open"),
        (["--patch", "-o", "yaml", "-"], "--patch and --output exclude each other"),
        (["-", "-"], "- (standard input) is named twice"),
    ])
    func badFlagsExitTwo(arguments: [String], message: String) async throws {
        let result = try await Self.mutate(arguments, stdin: "")
        #expect(result.status == 2)
        #expect(result.stderr.split(separator: "\n").count == 1 && result.stderr.contains(message), "\(result.stderr)")
    }

    /// From the cluster: one GET per ServiceAccount (a second pod of the same account asks
    /// nothing more), a missing one is a warning, an unreachable API exits 2 naming the account.
    @Test func serviceAccountsFromTheCluster() async throws {
        let directory = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let api = try FakeKubernetesAPI()
        try api.setAccounts(["shop/web": ["vultr.com/role-arn": Self.role, "vultr.com/region": "sjc"]])
        let kubeconfig = try TestTools.write(api.kubeconfig, to: "kubeconfig", in: directory)
        let input = [Self.workload("Deployment"), Self.workload("Job"),
                     Self.workload("Pod", name: "other").replacingOccurrences(of: "serviceAccountName: web", with: "serviceAccountName: nobody")]
            .joined(separator: "\n---\n")
        let result = try await Self.mutate(["--kubeconfig", kubeconfig, "--explain", "-"], stdin: input)
        #expect(result.status == 0, "\(result.stderr)")
        let output = try Self.documents(result.stdout)
        for document in output.prefix(2) {
            let env = Self.env(Self.podOf(document)?["spec"]?["containers"]?[0])
            #expect(env["AWS_ROLE_ARN"] == Self.role && env["AWS_REGION"] == "sjc")
        }
        #expect(output[2] == (try Self.documents(input))[2])
        #expect(result.stderr.contains("ServiceAccount shop/nobody not found in the cluster of --kubeconfig"), "\(result.stderr)")
        #expect(api.requests.map { $0.split(separator: " ").first ?? "" } == [
            "/api/v1/namespaces/shop/serviceaccounts/web", "/api/v1/namespaces/shop/serviceaccounts/nobody",
        ], "\(api.requests)")

        api.stop()
        let down = try await Self.mutate(["--kubeconfig", kubeconfig, "--api-timeout", "1s", "-"], stdin: Self.workload("Pod"))
        #expect(down.status == 2)
        #expect(down.stderr.hasPrefix("irsa-webhook: error: the cluster of --kubeconfig \(kubeconfig): cannot look up ServiceAccount shop/web: "),
                "\(down.stderr)")
        #expect(down.stderr.split(separator: "\n").count == 1)
    }
}

import Foundation
import Testing
@testable import Admission

@Suite struct AdmissionReviewTests {
    static let podObject = #"{"metadata":{"name":"p"},"spec":{"serviceAccountName":"app-sa","containers":[{"name":"app"}]}}"#

    static func review(apiVersion: String = "admission.k8s.io/v1", object: String = podObject) -> String {
        #"{"apiVersion":"\#(apiVersion)","kind":"AdmissionReview","request":{"uid":"u","resource":{"group":"","version":"v1","resource":"pods"},"operation":"CREATE","namespace":"default","object":\#(object)}}"#
    }

    /// Malformed bodies: each is a 400 with a short message naming the problem, never a crash.
    static let deepObject: String = {
        let open = String(repeating: "[", count: 70)
        let close = String(repeating: "]", count: 70)
        return review(object: "{\"x\":" + open + close + "}")
    }()

    static let nested64Object: String = {
        let open = String(repeating: "[", count: 59)
        let close = String(repeating: "]", count: 59)
        let spec = #","spec":{"serviceAccountName":"app-sa","containers":[{"name":"app"}]}}"#
        return review(object: "{\"x\":" + open + close + spec)
    }()

    static let malformed: [(String, String, String)] = [
        ("empty body", "", "expected an object"),
        ("not JSON", "hello", "expected an object"),
        ("truncated", String(review().dropLast(4)), "unexpected end"),
        ("truncated inside a string", #"{"apiVersion":"admission.k8s"#, "unterminated string"),
        ("trailing garbage", review() + "x", "trailing characters"),
        ("two documents", review() + review(), "trailing characters"),
        ("top level array", "[]", "expected an object"),
        ("wrong kind", review().replacingOccurrences(of: #""kind":"AdmissionReview""#, with: #""kind":"Pod""#), "kind"),
        ("missing kind", review().replacingOccurrences(of: #""kind":"AdmissionReview","#, with: ""), "kind"),
        ("wrong apiVersion", review(apiVersion: "admission.k8s.io/v2"), "apiVersion: not admission.k8s.io/v1"),
        ("missing apiVersion", #"{"kind":"AdmissionReview","request":{"uid":"u"}}"#, "apiVersion: missing"),
        ("no request", #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#, "request: missing"),
        ("null request", #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":null}"#, "request: missing"),
        ("missing uid", review().replacingOccurrences(of: #""uid":"u","#, with: ""), "request.uid: missing"),
        ("empty uid", review().replacingOccurrences(of: #""uid":"u""#, with: #""uid":"""#), "request.uid: missing"),
        ("uid not a string", review().replacingOccurrences(of: #""uid":"u""#, with: #""uid":7"#), "expected a string"),
        ("pods CREATE without object", review().replacingOccurrences(of: #","object":\#(podObject)"#, with: ""), "request.object: missing"),
        ("pods CREATE with null object", review(object: "null"), "request.object: missing"),
        ("object not an object", review(object: "[1]"), "expected an object"),
        ("containers not an array", review(object: #"{"spec":{"containers":{}}}"#), "expected an array"),
        ("10k '[' at the top", String(repeating: "[", count: 10_000), "expected an object"),
        ("10k '[' in a field", #"{"metadata":"# + String(repeating: "[", count: 10_000), "nesting deeper than 64"),
        ("deep nesting inside the object", deepObject, "nesting deeper than 64"),
        ("bad escape", review(object: #"{"metadata":{"name":"a\qb"}}"#), "bad escape"),
        ("bad \\u escape", review(object: #"{"metadata":{"name":"a\u12G4"}}"#), "bad hex digit"),
        ("short \\u escape at the end", #"{"a":"\u12"#, "unterminated"),
        ("NUL byte in a string", review(object: "{\"metadata\":{\"name\":\"a\u{0}b\"}}"), "control character"),
        ("NUL byte between tokens", review().replacingOccurrences(of: ",\"kind\"", with: ",\u{0}\"kind\""), "expected a string"),
        ("newline in a string", review(object: "{\"metadata\":{\"name\":\"a\nb\"}}"), "control character"),
        ("leading zero", review(object: #"{"x":01}"#), "expected ',' or a closing bracket"),
        ("bare minus", review(object: #"{"x":-}"#), "bad number"),
        ("missing fraction", review(object: #"{"x":1.}"#), "bad number fraction"),
        ("missing exponent", review(object: #"{"x":1e+}"#), "bad number exponent"),
        ("trailing comma in object", review(object: #"{"x":1,}"#), "trailing comma"),
        ("trailing comma in array", review(object: #"{"x":[1,]}"#), "trailing comma"),
        ("missing colon", review(object: #"{"x" 1}"#), "expected ':'"),
        ("single quotes", review(object: "{'x':1}"), "expected a string"),
        ("bad literal", review(object: #"{"x":nul}"#), "bad literal"),
        ("unquoted key", review(object: "{x:1}"), "expected a string"),
        ("no namespace anywhere", review().replacingOccurrences(of: #""namespace":"default","#, with: ""), "request.namespace: missing"),
    ]

    @Test(arguments: malformed)
    func malformedBodiesAre400(_ name: String, _ body: String, _ message: String) async {
        let handler = AdmissionHandler(configuration: PatchConfig(), serviceAccounts: StaticServiceAccountSource([]), failClosed: false)
        let outcome = await handler.review(Array(body.utf8))
        #expect(outcome.httpStatus == 400, "\(name)")
        #expect(outcome.result == .invalid)
        #expect(outcome.contentType.hasPrefix("text/plain"))
        let text = String(decoding: outcome.body, as: UTF8.self)
        #expect(text.contains(message), "\(name): \(text)")
        #expect(text.count < 200)
    }

    @Test func invalidUTF8Is400() async {
        var body = Array(Self.review().utf8)
        let name = body.indices.first { body[$0...].starts(with: Array(#""p""#.utf8)) }!
        body[name + 1] = 0xFF
        let handler = AdmissionHandler(configuration: PatchConfig(), serviceAccounts: StaticServiceAccountSource([]), failClosed: false)
        let outcome = await handler.review(body)
        #expect(outcome.httpStatus == 400)
        #expect(String(decoding: outcome.body, as: UTF8.self).contains("invalid UTF-8"))
    }

    /// Valid JSON the webhook need not understand is accepted: huge numbers, exotic whitespace,
    /// escaped keys, unknown fields, duplicate-free reordering.
    @Test(arguments: [
        ("huge numbers", review(object: #"{"metadata":{"name":"p","x":1e999999,"y":-123456789012345678901234567890.5E-7},"spec":{"serviceAccountName":"app-sa","containers":[{"name":"app"}]}}"#)),
        ("whitespace everywhere", " \n\t{ \"apiVersion\" : \"admission.k8s.io/v1\" ,\r\n \"kind\":\"AdmissionReview\", \"request\" : { \"uid\" : \"u\" , \"resource\":{\"group\":\"\",\"version\":\"v1\",\"resource\":\"pods\"},\"operation\":\"CREATE\",\"namespace\":\"default\",\"object\": \(podObject) } } \n"),
        ("escaped keys", review().replacingOccurrences(of: #""operation""#, with: #""op\u0065ration""#)),
        ("unknown fields of every type", review(object: #"{"a":[true,false,null,{},[],"s",0,-0.5e3],"metadata":{"name":"p"},"spec":{"serviceAccountName":"app-sa","containers":[{"name":"app"}]}}"#)),
        ("nesting of exactly 64", nested64Object),
    ])
    func unusualButValidBodiesAreReviewed(_ name: String, _ body: String) async {
        let handler = AdmissionHandler(configuration: PatchConfig(),
                                       serviceAccounts: StaticServiceAccountSource([AdmissionHandlerTests.roleAccount]), failClosed: false)
        let outcome = await handler.review(Array(body.utf8))
        #expect(outcome.result == .mutated(operations: 3), "\(name): \(String(decoding: outcome.body, as: UTF8.self))")
    }

    /// Random byte strings, and random truncations and byte changes of the Deployment pod's
    /// review, never crash the decoder.
    @Test func randomBytesNeverCrash() throws {
        var generator = SeededGenerator(seed: 0x5EED)
        let valid = ReviewHarness.body(object: try PodFixture("deployment").text)
        for round in 0..<5_000 {
            var bytes: [UInt8]
            switch round % 3 {
            case 0: bytes = (0..<Int.random(in: 0..<64, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            case 1: bytes = Array(valid.prefix(Int.random(in: 0..<valid.count, using: &generator)))
            default:
                bytes = valid
                for _ in 0..<3 { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 0...255, using: &generator) }
            }
            _ = bytes.withUnsafeBytes { try? AdmissionRequest.decode($0, configuration: PatchConfig()) }
        }
    }

    @Test func decodesBothVersions() throws {
        for version in [AdmissionReviewVersion.v1, .v1beta1] {
            let body = Array(Self.review(apiVersion: version.rawValue).utf8)
            let request = try body.withUnsafeBytes { try AdmissionRequest.decode($0, configuration: PatchConfig()) }
            #expect(request.version == version)
            #expect(request.uid == "u")
            #expect(request.pod?.containers == [Pod.Container(name: "app")])
        }
    }

    @Test func responseEncoding() throws {
        let allowed = AdmissionResponse(uid: "a\"b", allowed: true, patch: Array("[]".utf8), warnings: ["w1", "w\n2"])
        let text = String(decoding: allowed.encoded(version: .v1beta1), as: UTF8.self)
        #expect(text == #"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","response":{"uid":"a\"b","allowed":true,"patchType":"JSONPatch","patch":"W10=","warnings":["w1","w\n2"]}}"#)
        let denied = AdmissionResponse(uid: "u", allowed: false, status: (code: 500, message: "no \u{1}"))
        #expect(String(decoding: denied.encoded(version: .v1), as: UTF8.self) ==
            #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u","allowed":false,"status":{"code":500,"message":"no \u0001"}}}"#)
    }
}

/// A small deterministic generator (SplitMix64), so randomized tests repeat exactly.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

import PatchVerification

/// What the webhook must answer for a review.
enum PatchExpectation: Sendable, Equatable {
    /// A patch injecting this role ARN (`nil`: some role, not known to loadgen).
    case patch(roleARN: String?)
    /// No patch at all.
    case none
    /// Either (a peer server that always patches, or an account loadgen knows nothing about).
    case unknown
}

/// One AdmissionReview body rendered once, with the place of its `request.uid` known, so each
/// request only overwrites 36 bytes instead of encoding JSON again.
struct PreparedReview: Sendable {
    /// The UTF-8 JSON body; bytes `uidOffset..<uidOffset+36` hold a UUID to overwrite.
    let body: [UInt8]
    /// Offset of the 36-byte `request.uid` value in `body`.
    let uidOffset: Int
    /// The answer the webhook must give.
    let expectation: PatchExpectation
    /// The pod under review, for applying the patch in `--verify full`.
    let pod: JSONValue

    /// The length of a request uid.
    static let uidLength = 36
    private static let placeholderUID = "00000000-0000-4000-8000-00000000c0de"

    /// Renders a CREATE review of `pod` in `namespace`, as the kube-apiserver sends it.
    init(pod: JSONValue, namespace: String, expectation: PatchExpectation) {
        let kind: JSONValue = .object([("group", .string("")), ("version", .string("v1")), ("kind", .string("Pod"))])
        let resource: JSONValue = .object([("group", .string("")), ("version", .string("v1")), ("resource", .string("pods"))])
        var request: [(String, JSONValue)] = [
            ("uid", .string(Self.placeholderUID)), ("kind", kind), ("resource", resource), ("requestKind", kind), ("requestResource", resource),
        ]
        if let name = pod["metadata"]?["name"] { request.append(("name", name)) }
        request += [
            ("namespace", .string(namespace)),
            ("operation", .string("CREATE")),
            ("userInfo", .object([
                ("username", .string("system:serviceaccount:kube-system:replicaset-controller")),
                ("uid", .string("2b5d1e0c-5c8a-4f4e-9d7e-6a1b0c9d8e7f")),
                ("groups", .array([.string("system:serviceaccounts"), .string("system:serviceaccounts:kube-system"), .string("system:authenticated")])),
            ])),
            ("object", pod), ("oldObject", .null), ("dryRun", .bool(false)),
            ("options", .object([("kind", .string("CreateOptions")), ("apiVersion", .string("meta.k8s.io/v1"))])),
        ]
        let review: JSONValue = .object([
            ("kind", .string("AdmissionReview")), ("apiVersion", .string("admission.k8s.io/v1")), ("request", .object(request)),
        ])
        let body = Array(review.serialized.utf8)
        // The placeholder is the first `uid` member written, so its first occurrence is request.uid.
        self.init(body: body, uidOffset: Self.firstOffset(of: Self.placeholderUID, in: body)!, expectation: expectation, pod: pod)
    }

    /// A fixed review read from a file (`--review`): its `request.uid` is found by parsing it.
    init(fixedReview body: [UInt8], expectation: PatchExpectation) throws {
        let document = try JSONParser.parse(body)
        guard let uid = document["request"]?["uid"]?.stringValue, uid.utf8.count == Self.uidLength,
              let offset = Self.firstOffset(of: "\"uid\":\"\(uid)\"", in: body)
        else { throw CorpusError("the review has no 36-character request.uid (compact JSON expected)") }
        self.init(body: body, uidOffset: offset + 7, expectation: expectation, pod: document["request"]?["object"] ?? .null)
    }

    private init(body: [UInt8], uidOffset: Int, expectation: PatchExpectation, pod: JSONValue) {
        self.body = body
        self.uidOffset = uidOffset
        self.expectation = expectation
        self.pod = pod
    }

    static func firstOffset(of needle: String, in haystack: [UInt8]) -> Int? {
        let pattern = Array(needle.utf8)
        guard !pattern.isEmpty, haystack.count >= pattern.count else { return nil }
        for start in 0...(haystack.count - pattern.count) where haystack[start] == pattern[0] {
            if haystack[start..<(start + pattern.count)].elementsEqual(pattern) { return start }
        }
        return nil
    }
}

/// A request uid derived from a stream number and a sequence number: unique within a run.
enum RequestUID {
    private static let hexDigits = Array("0123456789abcdef".utf8)
    private static let sequencePositions = Array((24...35).reversed()) + [22, 21, 20, 17, 16, 15, 12, 11, 10, 9]

    /// Writes `ssssssss-qqqq-4qqq-8qqq-qqqqqqqqqqqq` (s: stream, q: sequence, hex) at `destination`.
    static func write(stream: UInt32, sequence: UInt64, to destination: UnsafeMutablePointer<UInt8>) {
        var value = stream
        for index in stride(from: 7, through: 0, by: -1) {
            destination[index] = hexDigits[Int(value & 0xF)]
            value >>= 4
        }
        // Sequence digits fill the other hex positions right to left (22 positions, 16 used).
        var remaining = sequence
        for position in sequencePositions {
            destination[position] = hexDigits[Int(remaining & 0xF)]
            remaining >>= 4
        }
        for dash in [8, 13, 18, 23] { destination[dash] = UInt8(ascii: "-") }
        destination[14] = UInt8(ascii: "4")
        destination[19] = UInt8(ascii: "8")
    }
}

/// A corpus that cannot be built or read.
struct CorpusError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

import Foundation
import PatchVerification
import Testing
@testable import loadgen

@Suite struct ResponseVerifierTests {
    private static let role = "arn:aws:iam::1:role/r"
    private static let uid = "00000000-0000-4000-8000-000000000001"

    private static func review(_ expectation: PatchExpectation) -> PreparedReview {
        let pod = try! JSONParser.parse(#"{"kind":"Pod","metadata":{"namespace":"ns"},"spec":{"containers":[{"name":"a","env":[{"name":"X","value":"1"}]},{"name":"b"}]}}"#)
        return PreparedReview(pod: pod, namespace: "ns", expectation: expectation)
    }

    private static let goodPatch = """
        [{"op":"add","path":"/spec/volumes","value":[{"name":"irsa","projected":{"sources":[{"serviceAccountToken":{"audience":"vultr","path":"token"}}]}}]},\
        {"op":"add","path":"/spec/containers/0/env/-","value":{"name":"AWS_ROLE_ARN","value":"\(role)"}},\
        {"op":"add","path":"/spec/containers/0/env/-","value":{"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"/var/run/irsa/token"}},\
        {"op":"add","path":"/spec/containers/0/volumeMounts","value":[{"name":"irsa","mountPath":"/var/run/irsa","readOnly":true}]},\
        {"op":"add","path":"/spec/containers/1/env","value":[{"name":"AWS_ROLE_ARN","value":"\(role)"},{"name":"AWS_WEB_IDENTITY_TOKEN_FILE","value":"/var/run/irsa/token"}]},\
        {"op":"add","path":"/spec/containers/1/volumeMounts","value":[{"name":"irsa","mountPath":"/var/run/irsa","readOnly":true}]}]
        """

    private static func response(uid: String = uid, patch: String?, allowed: Bool = true) -> String {
        var fields = #""uid":"\#(uid)","allowed":\#(allowed)"#
        if let patch { fields += #","patchType":"JSONPatch","patch":"\#(Data(patch.utf8).base64EncodedString())""# }
        return #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{\#(fields)}}"#
    }

    private func check(_ mode: VerifyMode, status: Int = 200, body: String, expectation: PatchExpectation, sentUID: String = uid) -> FailureKind? {
        let verifier = ResponseVerifier(mode: mode)
        let review = Self.review(expectation)
        return Array(body.utf8).withUnsafeBytes { bodyBytes in
            Array(sentUID.utf8).withUnsafeBytes { uidBytes in
                verifier.check(status: status, body: bodyBytes, uid: uidBytes, review: review)
            }
        }
    }

    @Test(arguments: [VerifyMode.envelope, .full])
    func acceptsCorrectAnswers(mode: VerifyMode) {
        #expect(check(mode, body: Self.response(patch: Self.goodPatch), expectation: .patch(roleARN: Self.role)) == nil)
        #expect(check(mode, body: Self.response(patch: nil), expectation: .none) == nil)
        #expect(check(mode, body: Self.response(patch: Self.goodPatch), expectation: .unknown) == nil)
        #expect(check(mode, body: Self.response(patch: nil), expectation: .unknown) == nil)
    }

    @Test(arguments: [VerifyMode.envelope, .full])
    func catchesEnvelopeFailures(mode: VerifyMode) {
        #expect(check(mode, status: 500, body: "oops", expectation: .none) == .httpStatus)
        #expect(check(mode, body: Self.response(patch: nil), expectation: .none, sentUID: "00000000-0000-4000-8000-000000000002") == .uidMismatch)
        #expect(check(mode, body: Self.response(patch: nil), expectation: .patch(roleARN: Self.role)) == .missingPatch)
        #expect(check(mode, body: Self.response(patch: Self.goodPatch), expectation: .none) == .unexpectedPatch)
        #expect(check(mode, body: "{}", expectation: .none) == .malformedReview)
    }

    @Test func fullModeAppliesThePatch() {
        let wrongRole = Self.goodPatch.replacingOccurrences(of: Self.role, with: "arn:aws:iam::2:role/other")
        #expect(check(.full, body: Self.response(patch: wrongRole), expectation: .patch(roleARN: Self.role)) == .injectionMissing)
        let missingMount = #"[{"op":"add","path":"/spec/containers/0/env/-","value":{"name":"AWS_ROLE_ARN","value":"\#(Self.role)"}}]"#
        #expect(check(.full, body: Self.response(patch: missingMount), expectation: .patch(roleARN: Self.role)) == .injectionMissing)
        let badPath = #"[{"op":"add","path":"/spec/containers/7/env/-","value":{}}]"#
        #expect(check(.full, body: Self.response(patch: badPath), expectation: .patch(roleARN: Self.role)) == .patchDoesNotApply)
        #expect(check(.full, body: Self.response(patch: nil, allowed: false), expectation: .none) == .notAllowed)
    }

    @Test func noneModeChecksTheStatusOnly() {
        #expect(check(.none, status: 503, body: "", expectation: .none) == .httpStatus)
        #expect(check(.none, body: "{}", expectation: .patch(roleARN: nil)) == nil)
    }
}

import Foundation
import Testing
@testable import Admission

/// The narrowing condition's text: sorted and deterministic, escaped whatever the names hold, and
/// downgraded (namespaces, then none) when it does not fit. `MatchConditionCELTests` evaluates it.
@Suite struct MatchConditionExpressionTests {
    static func keys(_ pairs: [(String, String)]) -> Set<ServiceAccountKey> {
        Set(pairs.map { ServiceAccountKey(namespace: $0.0, name: $0.1) })
    }

    @Test func exactConditionListsEveryAccountSortedByNamespaceThenName() {
        let condition = MatchConditionExpression.condition(for: Self.keys([("team-b", "web"), ("team-a", "batch"), ("team-b", "api"), ("team-a", "app.v2")]))
        #expect(condition.scope == .serviceAccounts)
        #expect(condition.expression == "!has(object.spec) || !has(object.spec.serviceAccountName) || "
            + "[{'team-a':['app.v2','batch'],'team-b':['api','web']}].exists(m, request.namespace in m && "
            + "object.spec.serviceAccountName in m[request.namespace])")
        #expect(condition.size == condition.expression?.unicodeScalars.count)
    }

    @Test func theSameSetGivesTheSameTextWhateverTheOrder() {
        let pairs = (0..<300).map { ("ns-\($0 % 7)", "sa-\($0)") }
        let forward = MatchConditionExpression.condition(for: Self.keys(pairs))
        let backward = MatchConditionExpression.condition(for: Self.keys(pairs.reversed()))
        #expect(forward.expression == backward.expression)
        #expect(forward == backward)
    }

    @Test(arguments: [
        ("plain-name.v1", "'plain-name.v1'"),
        ("it's", #"'it\'s'"#),
        (#"back\slash"#, #"'back\\slash'"#),
        (#"double"quote"#, #"'double"quote'"#),
        ("line\nbreak\ttab\r", #"'line\u000abreak\u0009tab\u000d'"#),
        ("nul\u{0}del\u{7F}", #"'nul\u0000del\u007f'"#),
        ("été", #"'\u00e9t\u00e9'"#),
        ("emoji😀", #"'emoji\U0001f600'"#),
        ("", "''"),
    ])
    func stringLiteralsEscapeQuotesBackslashesControlAndNonASCII(text: String, literal: String) {
        #expect(CELStringLiteral.quoted(text) == literal)
        #expect(literal.unicodeScalars.allSatisfy { $0.isASCII })
    }

    @Test func tooManyAccountsFallBackToTheirNamespaces() {
        let accounts = Self.keys((0..<50).map { ("ns-\($0 % 3)", "service-account-\($0)") })
        let exact = MatchConditionExpression.condition(for: accounts)
        let limited = MatchConditionExpression.condition(for: accounts, limit: exact.size - 1)
        #expect(limited.scope == .namespaces)
        #expect(limited.expression == "request.namespace in ['ns-0','ns-1','ns-2']")
        #expect(limited.sends(ServiceAccountKey(namespace: "ns-1", name: "anyone")))
        #expect(!limited.sends(ServiceAccountKey(namespace: "ns-3", name: "service-account-3")))
        let exactFits = MatchConditionExpression.condition(for: accounts, limit: exact.size)
        #expect(exactFits.scope == .serviceAccounts)
    }

    @Test func whenNotEvenTheNamespacesFitThereIsNoCondition() {
        let accounts = Self.keys((0..<50).map { ("namespace-\($0)", "sa") })
        let namespaces = MatchConditionExpression.namespaces(accounts.map(\.namespace).sorted())
        let none = MatchConditionExpression.condition(for: accounts, limit: namespaces.utf8.count - 1)
        #expect(none.scope == .everyPod)
        #expect(none.expression == nil)
        #expect(none.size == 0)
        #expect(none.sends(ServiceAccountKey(namespace: "elsewhere", name: "x")))
        #expect(MatchConditionExpression.condition(for: accounts, limit: namespaces.utf8.count).scope == .namespaces)
    }

    @Test func anEmptySetSendsOnlyPodsWithoutAServiceAccountName() {
        let condition = MatchConditionExpression.condition(for: [])
        #expect(condition.scope == .serviceAccounts)
        #expect(condition.expression?.contains("[{}].exists(") == true)
        #expect(!condition.sends(ServiceAccountKey(namespace: "default", name: "default")))
    }

    @Test func theApplyBodyNamesOnlyTheConfigurationTheEntryAndOurCondition() throws {
        let condition = MatchConditionExpression.condition(for: Self.keys([("default", "it's")]))
        let body = WebhookConfigurationAPI.applyBody(condition, configuration: "irsa-webhook", webhook: "irsa-webhook.vultr.com")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(Set(object.keys) == ["apiVersion", "kind", "metadata", "webhooks"])
        #expect(object["apiVersion"] as? String == "admissionregistration.k8s.io/v1")
        #expect(object["metadata"] as? [String: String] == ["name": "irsa-webhook"])
        let entries = try #require(object["webhooks"] as? [[String: Any]])
        #expect(entries.count == 1)
        #expect(Set(entries[0].keys) == ["name", "matchConditions"])
        let conditions = try #require(entries[0]["matchConditions"] as? [[String: String]])
        #expect(conditions == [["name": WebhookConfigurationAPI.conditionName, "expression": condition.expression!]])

        let none = MatchConditionExpression.condition(for: Self.keys([("default", "a")]), limit: 10)
        let withoutCondition = try #require(try JSONSerialization.jsonObject(
            with: Data(WebhookConfigurationAPI.applyBody(none, configuration: "irsa-webhook", webhook: "irsa-webhook.vultr.com"))) as? [String: Any])
        #expect((withoutCondition["webhooks"] as? [[String: Any]])?.first?.keys.sorted() == ["name"])
    }
}

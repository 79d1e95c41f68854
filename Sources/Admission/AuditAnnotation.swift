/// The keys of the `auditAnnotations` the webhook sets, and the bound on their values.
///
/// The API server records each as `<webhook name>/<key>` in the request's audit event, so a key
/// is the name part of a qualified name: at most 63 characters of `[A-Za-z0-9._-]`, beginning and
/// ending with a letter or digit.
public enum AuditAnnotation {
    /// The role a mutated pod was given.
    public static let roleARN: StaticString = "role-arn"
    /// The audience of the token a mutated pod was given.
    public static let tokenAudience: StaticString = "token-audience"
    /// Why a pod was admitted without a role: its ServiceAccount could not be looked up.
    public static let lookupFailure: StaticString = "lookup-failure"

    /// The longest value recorded, in characters; longer ones are cut and end with "…".
    public static let maximumValueLength = 256

    /// `text` cut to `maximumValueLength` characters.
    static func value(_ text: String) -> String {
        text.utf8.count <= maximumValueLength || text.count <= maximumValueLength
            ? text : String(text.prefix(maximumValueLength - 1)) + "…"
    }
}

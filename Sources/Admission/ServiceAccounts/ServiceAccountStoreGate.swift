/// Something that must hear of an account gaining a role before the store serves it, and of an
/// account losing it after: the narrowing writer, which widens the webhook's `matchConditions`
/// first (so kube-apiserver sends the account's pods before the webhook would mutate them) and
/// narrows them last. The informer calls it through `GatedStoreUpdates`.
public protocol ServiceAccountStoreGate: AnyObject, Sendable {
    /// Whether `account` is one the gate follows (it has a role).
    func follows(_ account: ServiceAccount) -> Bool
    /// The store is about to serve these accounts as followed: make room for them (widen).
    func willServe(_ accounts: [ServiceAccountKey])
    /// The store now serves exactly these followed accounts (after a LIST): narrow to them.
    func serves(exactly accounts: [ServiceAccountKey])
    /// The store no longer serves `account` as followed (it lost its role or was deleted): narrow.
    func stoppedServing(_ account: ServiceAccountKey)
    /// Whether the store may serve `account` as followed now (room was made, or waiting cannot help).
    func admits(_ account: ServiceAccountKey) -> Bool
    /// Calls `body` (never under the gate's own lock) each time `admits` may have turned true
    /// for more accounts. Called once, before the informer starts.
    func onAdmitting(_ body: @escaping @Sendable () -> Void)
}

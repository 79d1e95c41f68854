import EventLoop

extension ServiceAccountAPI {
    /// A completed LIST: every account, and the version to watch from.
    struct Listing {
        var table: ServiceAccountStore.Table
        /// The accounts `collecting` picked.
        var collected: [ServiceAccountKey]
        var resourceVersion: String
        var pages: Int
    }

    /// Lists every ServiceAccount, `pageSize` at a time (`limit` and `continue`). Each page is
    /// decoded as soon as it has arrived and folded into the table, so memory holds one page of
    /// JSON at a time, never the whole list. A 410 on a `continue` token (it expired while we
    /// paged) starts the list over, at most `maximumRestarts` times. The keys of the accounts
    /// `collecting` picks are returned too (those with a role, for the narrowing writer).
    func list(
        pageSize: Int, pageTimeout: Duration, maximumRestarts: Int = 3, collecting: (ServiceAccount) -> Bool = { _ in false }
    ) async throws -> Listing {
        var restarts = 0
        while true {
            do {
                return try await listOnce(pageSize: pageSize, pageTimeout: pageTimeout, collecting: collecting)
            } catch let failure as Failure where failure.isGone && restarts < maximumRestarts {
                restarts += 1
            }
        }
    }

    private func listOnce(pageSize: Int, pageTimeout: Duration, collecting: (ServiceAccount) -> Bool) async throws -> Listing {
        var table = ServiceAccountStore.Table()
        var collected: [ServiceAccountKey] = []
        var continueToken: String?
        var pages = 0
        while true {
            var query = [("limit", String(pageSize))]
            if let continueToken { query.append(("continue", continueToken)) }
            let body = try await pageBody(try request(query), deadline: .after(pageTimeout))
            let page = try body.withUnsafeBytes { try ServiceAccountListPage.decode($0, keeping: filter) }
            pages += 1
            for account in page.accounts {
                table.add(account)
                if collecting(account) { collected.append(account.key) }
            }
            guard let next = page.continueToken else {
                return Listing(table: table, collected: collected, resourceVersion: page.resourceVersion, pages: pages)
            }
            continueToken = next
        }
    }

    /// The body of one 200 page; any other status is a `Failure`.
    private func pageBody(_ request: HTTPClientRequest, deadline: Deadline) async throws -> [UInt8] {
        var body: [UInt8] = []
        let head = try await client.stream(request, deadline: deadline) { bytes in
            body.append(contentsOf: bytes)
        }
        guard head.status.code == 200 else {
            throw Self.failure("LIST serviceaccounts", status: Int(head.status.code), body: body)
        }
        return body
    }
}

/// One page of `GET /api/v1/serviceaccounts?limit=…`: the list's resourceVersion, the token for
/// the next page, and the accounts (their kept annotations only).
struct ServiceAccountListPage {
    /// `metadata.resourceVersion`: the version the whole list is consistent at (watch from it).
    var resourceVersion: String
    /// `metadata.continue`; nil on the last page.
    var continueToken: String?
    /// The accounts on this page.
    var accounts: [ServiceAccount]

    /// Decodes a page body, keeping the annotations `filter` keeps.
    static func decode(_ body: UnsafeRawBufferPointer, keeping filter: ServiceAccountAnnotationFilter)
        throws(ServiceAccountDecodingError) -> ServiceAccountListPage
    {
        var resourceVersion: String?
        var continueToken: String?
        var objects: [WatchedObject] = []
        do {
            var scanner = JSONScanner(body)
            var members = try scanner.beginObject()
            while let key = try scanner.nextMember(&members) {
                if key.equals("metadata") {
                    var metadata = try scanner.beginObject()
                    while let field = try scanner.nextMember(&metadata) {
                        if field.equals("resourceVersion") {
                            resourceVersion = try scanner.readOptionalString()?.value
                        } else if field.equals("continue") {
                            continueToken = try scanner.readOptionalString()?.value
                        } else {
                            try scanner.skipValue()
                        }
                    }
                } else if key.equals("items") {
                    if try scanner.consumeNull() { continue }
                    var elements = try scanner.beginArray()
                    while try scanner.nextElement(&elements) {
                        objects.append(try WatchedObject.decode(from: &scanner, in: body, keeping: filter))
                    }
                } else {
                    try scanner.skipValue()
                }
            }
            try scanner.finish()
        } catch {
            throw ServiceAccountDecodingError("ServiceAccount list: \(error)")
        }
        if continueToken?.isEmpty == true { continueToken = nil }
        guard let resourceVersion else { throw ServiceAccountDecodingError("ServiceAccount list without metadata.resourceVersion") }
        var accounts: [ServiceAccount] = []
        accounts.reserveCapacity(objects.count)
        for object in objects { accounts.append(try object.serviceAccount()) }
        return ServiceAccountListPage(resourceVersion: resourceVersion, continueToken: continueToken, accounts: accounts)
    }
}

import Foundation

/// Lists ServiceAccounts page by page (`limit`, then each `continue`) over one keep-alive TLS
/// connection with a small Python client, as an informer's initial LIST does.
struct KubernetesAPIPager {
    /// What the pages held.
    struct Listing {
        /// "namespace/name" of every item, in the order served.
        var keys: [String]
        /// Items carrying a `vultr.com/role-arn` annotation.
        var annotated: Int
        /// Each page's metadata.resourceVersion.
        var resourceVersions: [String]
        /// Each page's metadata.remainingItemCount (nil when absent: the last page).
        var remaining: [Int?]
        /// From the first request to the last page read.
        var seconds: Double
    }

    /// Pages through `path` (a LIST path without query) `limit` items at a time.
    static func list(_ path: String, limit: Int, port: Int, caFile: String, token: String?) async throws -> Listing {
        let result = try await TestTools.python(
            script, [String(port), caFile, token ?? "", path, String(limit)], timeout: .seconds(120))
        guard let keys = result["keys"] as? [String], let annotated = result["annotated"] as? Int,
              let versions = result["resourceVersions"] as? [String], let remaining = result["remaining"] as? [Any],
              let seconds = result["seconds"] as? Double
        else { throw TestToolError("unexpected pager output: \(result)") }
        return Listing(keys: keys, annotated: annotated, resourceVersions: versions, remaining: remaining.map { $0 as? Int },
                       seconds: seconds)
    }

    private static let script = #"""
import http.client, json, ssl, sys, time, urllib.parse
port, ca, token, path, limit = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
conn = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(cafile=ca), timeout=60)
headers = {"Authorization": "Bearer " + token} if token else {}
keys, annotated, versions, remaining, token_value = [], 0, [], [], None
started = time.monotonic()
while True:
    query = {"limit": limit}
    if token_value:
        query["continue"] = token_value
    conn.request("GET", path + "?" + urllib.parse.urlencode(query), headers=headers)
    response = conn.getresponse()
    page = json.loads(response.read())
    if response.status != 200:
        print(json.dumps({"error": page}))
        sys.exit(1)
    for item in page["items"]:
        metadata = item["metadata"]
        keys.append(metadata["namespace"] + "/" + metadata["name"])
        annotated += "vultr.com/role-arn" in metadata.get("annotations", {})
    versions.append(page["metadata"]["resourceVersion"])
    remaining.append(page["metadata"].get("remainingItemCount"))
    token_value = page["metadata"].get("continue")
    if not token_value:
        break
print(json.dumps({"keys": keys, "annotated": annotated, "resourceVersions": versions, "remaining": remaining,
                  "seconds": time.monotonic() - started}))
"""#
}

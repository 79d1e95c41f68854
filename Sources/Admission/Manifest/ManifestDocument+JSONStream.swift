extension ManifestDocument {
    /// Where each object is in `bytes` when they hold two or more JSON objects one after another
    /// (what `jq -c '.items[]'` prints), which is no YAML stream but which kubectl reads as one
    /// object each; nil when `bytes` do not begin so (then their YAML error stands).
    ///
    /// - Throws: `ManifestError` naming the document and the byte where the stream stops being
    ///   JSON objects, once two have been read.
    static func jsonStream(_ bytes: [UInt8], source: String) throws(ManifestError) -> [Range<Int>]? {
        var objects: [Range<Int>] = []
        let failure = bytes.withUnsafeBytes { buffer -> JSONSyntaxError? in
            var scanner = JSONScanner(buffer)
            while let start = bytes[scanner.offset...].firstIndex(where: { ![0x20, 0x0A, 0x0D, 0x09].contains($0) }) {
                guard bytes[start] == UInt8(ascii: "{") else { return JSONSyntaxError(offset: start, reason: "not a JSON object") }
                do throws(JSONSyntaxError) {
                    try scanner.skipValue()
                } catch {
                    return error
                }
                objects.append(start..<scanner.offset)
            }
            return nil
        }
        guard objects.count >= 2 else { return nil }
        if let failure { throw ManifestError("\(source): document \(objects.count + 1): \(failure)") }
        return objects
    }
}

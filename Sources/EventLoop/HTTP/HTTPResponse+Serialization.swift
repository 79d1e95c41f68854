extension HTTPResponse {
    /// Appends the whole response, head and body, to `buffer`, so that it leaves in one write.
    ///
    /// Writes `Content-Length` (except for 1xx/204/304) and `Connection: close` when the
    /// connection will close, or `Connection: keep-alive` for an HTTP/1.0 client that keeps
    /// it; fields with those names (and `Transfer-Encoding`) in `headers` are skipped. Header
    /// text cannot break lines: CR, LF and NUL become spaces. For a HEAD request the body is
    /// left out but its length is announced.
    func serialize(
        into buffer: ConnectionBuffer,
        version: HTTPVersion,
        keepAlive: Bool,
        includeBody: Bool,
        date: [UInt8]?
    ) {
        buffer.append("HTTP/1.1 ")
        buffer.appendDecimal(status.code)
        buffer.append(HTTPBytes.space)
        buffer.appendFieldText(status.reason)
        buffer.append("\r\n")
        for field in headers.fields where !Self.isFramingField(field.name) {
            buffer.appendFieldText(field.name)
            buffer.append(": ")
            buffer.appendFieldText(field.value)
            buffer.append("\r\n")
        }
        if let date {
            buffer.append("Date: ")
            buffer.append(date)
            buffer.append("\r\n")
        }
        if !status.forbidsBody {
            buffer.append("Content-Length: ")
            buffer.appendDecimal(body.count)
            buffer.append("\r\n")
        }
        if !keepAlive {
            buffer.append("Connection: close\r\n")
        } else if version == .http1_0 {
            buffer.append("Connection: keep-alive\r\n")
        }
        buffer.append("\r\n")
        if includeBody, !status.forbidsBody {
            buffer.append(body)
        }
    }

    private static func isFramingField(_ name: String) -> Bool {
        name.equalsIgnoringASCIICase("content-length")
            || name.equalsIgnoringASCIICase("connection")
            || name.equalsIgnoringASCIICase("transfer-encoding")
    }
}

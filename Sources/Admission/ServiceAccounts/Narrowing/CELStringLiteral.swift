/// Writes text as a single-quoted CEL string literal that reads back as exactly that text,
/// whatever it holds: printable ASCII stays as it is, `'` and `\` are escaped with a backslash,
/// and every other code point (control characters, DEL, anything beyond ASCII) becomes `\uXXXX`
/// or `\UXXXXXXXX` (CEL's escapes for a code point, not for UTF-8 bytes).
///
/// The literal is therefore plain ASCII, so its length in bytes is its length in code points,
/// the unit kube-apiserver limits expressions in. Kubernetes names cannot hold any of the
/// escaped characters, but nothing here relies on that.
enum CELStringLiteral {
    /// Appends `text` as a quoted literal to `expression`.
    static func append(_ text: String, to expression: inout String) {
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x27 && $0 != 0x5C }) {
            expression += "'"
            expression += text
            expression += "'"
            return
        }
        expression.unicodeScalars.append("'")
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x27, 0x5C:
                expression.unicodeScalars.append("\\")
                expression.unicodeScalars.append(scalar)
            case 0x20...0x7E:
                expression.unicodeScalars.append(scalar)
            case 0...0xFFFF:
                expression += "\\u" + hex(scalar.value, digits: 4)
            default:
                expression += "\\U" + hex(scalar.value, digits: 8)
            }
        }
        expression.unicodeScalars.append("'")
    }

    /// `text` as a quoted literal.
    static func quoted(_ text: String) -> String {
        var literal = ""
        append(text, to: &literal)
        return literal
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.utf8.count)) + text
    }
}

/// Python source shared by the tests' embedded HTTP clients.
enum PythonHTTP {
    /// `read_response(conn)`: reads one HTTP/1.1 response with a Content-Length body from a
    /// socket; returns `(status, headers with lower-case names, body)`; raises EOFError on a
    /// close before the response is complete.
    static let readResponse = #"""
def read_response(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk: raise EOFError("EOF after %d bytes of response head" % len(data))
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk: raise EOFError("EOF in body")
        rest += chunk
    return int(lines[0].split(" ")[1]), headers, rest
"""#
}

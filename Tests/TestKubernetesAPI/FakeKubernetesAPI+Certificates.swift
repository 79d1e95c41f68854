import Foundation

extension FakeKubernetesAPI {
    /// Makes, with the openssl CLI, a CA, a server certificate for 127.0.0.1/localhost and a client
    /// certificate (all P-256).
    static func makeCertificates(in directory: String) throws {
        let commands = [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
             "-out", "ca.crt", "-subj", "/CN=fake-kubernetes-ca", "-days", "2"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key",
             "-out", "server.csr", "-subj", "/CN=kube-apiserver"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt",
             "-days", "2", "-extfile", "server.ext"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "client.key",
             "-out", "client.csr", "-subj", "/CN=system:serviceaccount:irsa:webhook"],
            ["x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "client.crt",
             "-days", "2"],
        ]
        try Data("subjectAltName=IP:127.0.0.1,DNS:localhost\n".utf8).write(to: URL(fileURLWithPath: directory + "/server.ext"))
        for arguments in commands {
            _ = try openssl(arguments, in: directory)
        }
    }

    /// Runs `openssl arguments` in `directory` and returns what it wrote on stdout.
    static func openssl(_ arguments: [String], in directory: String) throws -> Data {
        let openssl = Process()
        let output = Pipe()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl"] + arguments
        openssl.currentDirectoryURL = URL(fileURLWithPath: directory)
        openssl.standardOutput = output
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else {
            throw Failure(description: "openssl \(arguments.joined(separator: " ")) failed")
        }
        return data
    }
}

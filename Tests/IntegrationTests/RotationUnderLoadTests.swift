import Foundation
import Testing

/// The serving certificate rotates every second while loadgen drives load that keeps opening new
/// TLS connections: no request fails, no handshake fails, and after each rotation a new
/// connection is served the new certificate.
///
/// Every leaf is signed by one test CA that loadgen and the probing client trust, so a handshake
/// that sees a half-installed or mismatched pair fails verification and shows up as a failure.
/// The pairs are swapped in both ways certificates change on disk: as the kubelet updates a
/// Secret volume (a new `..genN` directory, an atomic `..data` symlink swap, the previous
/// directory removed), and as cert-manager's csi driver or a script does (each file written to a
/// temporary name and renamed over tls.crt, then tls.key).
@Suite(.serialized) struct RotationUnderLoadTests {
    static let rotations = 8

    /// Installs pair i (argv[6 + 2(i-1)], argv[7 + 2(i-1)]) at second i after its start in the
    /// `layout` of argv[5], then opens new connections until one is served pair i. Prints one
    /// JSON object.
    static let rotator = #"""
import json, os, shutil, socket, ssl, sys, time
port, directory, ca, rotations, layout = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
pairs = [(sys.argv[6 + 2 * i], sys.argv[7 + 2 * i]) for i in range(rotations)]
context = ssl.create_default_context(cafile=ca)
result = {"rotations": 0, "seen": 0, "reloadMilliseconds": [], "probes": 0, "probeFailures": [], "lateSeconds": 0.0}

def served():
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
            return conn.getpeercert(binary_form=True)

def install(generation, cert, key):
    if layout == "rename":
        for source, name in ((cert, "tls.crt"), (key, "tls.key")):
            temporary = os.path.join(directory, ".%s.tmp" % name)
            shutil.copyfile(source, temporary)
            os.rename(temporary, os.path.join(directory, name))
        return
    data = os.path.join(directory, "..gen%d" % generation)
    os.mkdir(data)
    shutil.copyfile(cert, os.path.join(data, "tls.crt"))
    shutil.copyfile(key, os.path.join(data, "tls.key"))
    link = os.path.join(directory, "..data_tmp")
    os.symlink("..gen%d" % generation, link)
    os.rename(link, os.path.join(directory, "..data"))
    shutil.rmtree(os.path.join(directory, "..gen%d" % (generation - 1)))

start = time.monotonic()
for index, (cert, key) in enumerate(pairs):
    due = start + index + 1
    if due > time.monotonic(): time.sleep(due - time.monotonic())
    result["lateSeconds"] = max(result["lateSeconds"], time.monotonic() - due)
    install(index + 1, cert, key)
    result["rotations"] += 1
    installed = time.monotonic()
    expected = ssl.PEM_cert_to_DER_cert(open(cert).read())
    while time.monotonic() - installed < 5:
        result["probes"] += 1
        try:
            if served() == expected:
                result["seen"] += 1
                result["reloadMilliseconds"].append(round((time.monotonic() - installed) * 1000))
                break
        except Exception as error:
            result["probeFailures"].append(repr(error))
        time.sleep(0.01)
print(json.dumps(result))
"""#

    @Test(arguments: ["symlink", "rename"])
    func rotationEverySecondUnderLoad(layout: String) async throws {
        let scratch = try TestTools.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let authority = try await TestCertificateAuthority(in: scratch)
        var pairs: [(certificate: String, key: String)] = []
        for serial in 0...Self.rotations {
            pairs.append(try await authority.issue(name: "leaf\(serial)", serial: 1000 + serial))
        }
        let certificates = try CertificateDirectory(
            at: scratch.appendingPathComponent("certs"), layout: layout, certificate: pairs[0].certificate, key: pairs[0].key)
        let directory = certificates.directory
        let webhook = try certificates.webhook(threads: 2)
        let port = try await webhook.listeningPort()
        // 16 connections, each replaced after 10 requests: a steady stream of new handshakes.
        let loadgen = try LoadgenProcess([
            "run", "--ca-file", authority.certificate,
            "--review", TestTools.root.appendingPathComponent("deploy/dev/review.json").path, "--expect", "patch",
            "--verify", "full", "--connections", "16", "--requests-per-connection", "10", "--threads", "1",
            "--warmup", "0s", "--duration", "\(Self.rotations + 3)s", "--json", "https://127.0.0.1:\(port)/mutate",
        ])
        #expect(try await loadgen.waitForError(containing: "t=1s", timeout: .seconds(20)), "no load: \(loadgen.standardError)")

        let rotation = try await TestTools.python(
            Self.rotator, ["\(port)", directory.path, authority.certificate, "\(Self.rotations)", layout]
                + pairs.dropFirst().flatMap { [$0.certificate, $0.key] },
            timeout: .seconds(Self.rotations * 6 + 20))
        let loadgenStatus = try await loadgen.waitForExit(timeout: .seconds(60))
        let report = try loadgen.report()
        let connections = report["connections"] as? [String: Any] ?? [:]
        let reloads = webhook.output.components(separatedBy: "certificate reloaded").count - 1
        print("RotationUnderLoadTests \(layout): \(rotation["rotations"] ?? "?") rotations, \(rotation["seen"] ?? "?") seen by new connections",
              "after \(rotation["reloadMilliseconds"] ?? "?") ms (\(rotation["probes"] ?? "?") probes); \(reloads) reloads logged;",
              "loadgen: \(report["requests"] ?? "?") requests, \(report["failed"] ?? "?") failed \(report["failures"] ?? "?"),",
              "connections \(connections)")

        #expect(report["failed"] as? Int == 0, "failed requests or handshakes: \(report)\n\(loadgen.standardError.suffix(2000))")
        #expect(loadgenStatus == 0, "loadgen exit \(String(describing: loadgenStatus))")
        #expect(rotation["rotations"] as? Int == Self.rotations, "\(rotation)")
        #expect(rotation["seen"] as? Int == Self.rotations, "a rotation never reached a new connection: \(rotation)\n\(webhook.output.suffix(3000))")
        #expect((rotation["probeFailures"] as? [String])?.isEmpty == true, "\(rotation)")
        #expect(reloads >= Self.rotations, "\(webhook.output.suffix(3000))")
        #expect(!webhook.output.contains("certificate reload failed"), "\(webhook.output.suffix(3000))")
        // Handshakes all through the rotations, not only at the start (each connection lasts 10 requests).
        #expect((connections["opened"] as? Int ?? 0) >= 4 * Self.rotations, "too few new connections: \(report)")
        #expect(try await webhook.stop(timeout: .seconds(10)) == 0)
    }
}

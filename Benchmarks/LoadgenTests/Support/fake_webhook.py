#!/usr/bin/env python3
"""A small HTTPS AdmissionReview server for loadgen's tests (not a benchmark peer).

usage: fake_webhook.py CERT KEY SERVICE_ACCOUNTS_JSON MODE
MODE: good (IRSA patch for annotated accounts), fixed-uid (answers a constant uid),
      always-patch (patches every pod), bad-patch (a patch that does not apply),
      close-idle (good answers, but the connection is closed after each one without
      announcing it, as a server closing idle keep-alive connections does).
Prints "port N" once listening on 127.0.0.1.
"""
import base64, json, signal, ssl, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The test runner may start us with signals blocked: let SIGTERM end us.
signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGTERM, signal.SIGINT])
cert, key, accounts_file, mode = sys.argv[1:5]
roles = {}
for item in json.load(open(accounts_file))["items"]:
    meta = item["metadata"]
    role = meta.get("annotations", {}).get("vultr.com/role-arn")
    if role:
        roles[(meta["namespace"], meta["name"])] = role


def patch_for(pod, role):
    ops = []
    spec = pod["spec"]
    volume = {"name": "irsa-token", "projected": {"sources": [{"serviceAccountToken": {"audience": "vultr", "path": "token"}}]}}
    ops.append({"op": "add", "path": "/spec/volumes/-", "value": volume} if "volumes" in spec
               else {"op": "add", "path": "/spec/volumes", "value": [volume]})
    for kind in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(kind, [])):
            env = [{"name": "AWS_ROLE_ARN", "value": role},
                   {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": "/var/run/secrets/vultr.com/serviceaccount/token"}]
            mount = {"name": "irsa-token", "readOnly": True, "mountPath": "/var/run/secrets/vultr.com/serviceaccount"}
            if "env" in c:
                ops += [{"op": "add", "path": f"/spec/{kind}/{i}/env/-", "value": e} for e in env]
            else:
                ops.append({"op": "add", "path": f"/spec/{kind}/{i}/env", "value": env})
            if "volumeMounts" in c:
                ops.append({"op": "add", "path": f"/spec/{kind}/{i}/volumeMounts/-", "value": mount})
            else:
                ops.append({"op": "add", "path": f"/spec/{kind}/{i}/volumeMounts", "value": [mount]})
    return ops


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        request = review["request"]
        pod = request["object"]
        role = roles.get((request["namespace"], pod["spec"].get("serviceAccountName")))
        if mode == "always-patch":
            role = role or "arn:aws:iam::1:role/any"
        response = {"uid": "6f1d9c2e-3b7a-4e58-9c1d-2a4b5c6d7e8f" if mode == "fixed-uid" else request["uid"], "allowed": True}
        if role:
            ops = patch_for(pod, role)
            if mode == "bad-patch":
                ops = [{"op": "add", "path": "/spec/containers/99/env/-", "value": {}}]
            response["patchType"] = "JSONPatch"
            response["patch"] = base64.b64encode(json.dumps(ops).encode()).decode()
        body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response},
                          separators=(",", ":")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        if mode == "close-idle":
            self.close_connection = True


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(f"port {server.server_address[1]}", flush=True)
server.serve_forever()

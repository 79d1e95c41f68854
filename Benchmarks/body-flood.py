#!/usr/bin/env python3
# Benchmarks/body-flood.py: clients that each hold a request body one byte short, on both ports.
# Used by Benchmarks/body-flood.sh and IntegrationTests/BodyMemoryBudgetTests.
# Arguments: TLS port, metrics port, webhook pid, body size, connections per port, hold seconds.
# Each connection sends a head announcing `size` bytes and `size - 1` of them, then waits for an
# answer; the main thread samples the server's VmRSS. Prints one JSON object.
import json, socket, ssl, sys, threading, time
port, metrics_port, pid, size, per_port, hold = [int(a) for a in sys.argv[1:6]] + [float(sys.argv[6])]
context = ssl.create_default_context(); context.check_hostname = False; context.verify_mode = ssl.CERT_NONE
statuses, lock = {}, threading.Lock()

def rss():
    for line in open("/proc/%d/status" % pid):
        if line.startswith("VmRSS:"): return int(line.split()[1]) * 1024
    return 0

def hold_body(name, tls, path):
    status = "none"
    try:
        raw = socket.create_connection(("127.0.0.1", port if tls else metrics_port), timeout=hold + 5)
        conn = context.wrap_socket(raw, server_hostname="127.0.0.1") if tls else raw
        conn.sendall(b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (path, size))
        piece, left = b"x" * 65536, size - 1
        conn.settimeout(0.2)
        started = time.monotonic()
        answer = b""
        while time.monotonic() - started < hold:
            if left > 0:
                try: left -= conn.send(piece[:min(left, len(piece))])
                except (socket.timeout, ssl.SSLWantWriteError): pass
                except OSError: left = 0  # refused: read the answer
            try:
                data = conn.recv(65536)
                if not data: break
                answer += data
            except (socket.timeout, ssl.SSLWantReadError): pass
            except OSError: break
            if left == 0 and not answer: time.sleep(0.05)
        status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/1.1 ") else ("closed" if answer == b"" else "garbage")
        conn.close()
    except Exception as error:
        status = type(error).__name__
    with lock: statuses[name] = status

before = rss()
threads = [threading.Thread(target=hold_body, args=("metrics-%d" % i, False, b"/healthz")) for i in range(per_port)]
threads += [threading.Thread(target=hold_body, args=("tls-%d" % i, True, b"/mutate")) for i in range(per_port)]
for thread in threads: thread.start()
peak = before
while any(thread.is_alive() for thread in threads):
    peak = max(peak, rss()); time.sleep(0.05)
count = lambda prefix, status: sum(1 for name, seen in statuses.items() if name.startswith(prefix) and seen == status)
print(json.dumps({"rss_before": before, "rss_peak": peak, "statuses": statuses,
                  "metrics_413": count("metrics", "413"), "tls_503": count("tls", "503")}))

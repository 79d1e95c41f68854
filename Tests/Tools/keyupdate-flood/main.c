// keyupdate-flood: a TLS 1.3 client that sends one request, then floods the server with
// KeyUpdate(update_requested) records and never reads. A test helper for the server's
// defence against peers that make it write without reading (issue 15, item 3).
//
// Usage: keyupdate-flood PORT RECORDS WAIT_SECONDS
// Prints one JSON object: the key updates sent, and the seconds from the first one until the
// server closed the connection (-1 if it was still open WAIT_SECONDS after the first).
#define _GNU_SOURCE  // POLLRDHUP
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void) {
    struct timespec spec;
    clock_gettime(CLOCK_MONOTONIC, &spec);
    return (double)spec.tv_sec + (double)spec.tv_nsec / 1e9;
}

static int fail(const char *what) {
    fprintf(stderr, "keyupdate-flood: %s failed (errno %d)\n", what, errno);
    ERR_print_errors_fp(stderr);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: keyupdate-flood PORT RECORDS WAIT_SECONDS\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long records = atol(argv[2]);
    double wait_seconds = atof(argv[3]);
    signal(SIGPIPE, SIG_IGN);

    int fd = socket(AF_INET, SOCK_STREAM, 0);
    // A small receive window: the server's sends stall after a few replies, as with a slow peer.
    int receive_buffer = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&address, sizeof address) != 0) return fail("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct timeval send_timeout = {.tv_sec = 1};  // a server that stops reading blocks a send
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);

    SSL_CTX *context = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_min_proto_version(context, TLS1_3_VERSION);
    SSL_CTX_set_verify(context, SSL_VERIFY_NONE, NULL);
    SSL *ssl = SSL_new(context);
    SSL_set_fd(ssl, fd);
    if (SSL_connect(ssl) != 1) return fail("SSL_connect");
    const char *request = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (SSL_write(ssl, request, (int)strlen(request)) <= 0) return fail("SSL_write");

    // The records go to a memory BIO and leave in large writes, so the flood outpaces the
    // server (one syscall per record would not fill its socket buffers in a test's time).
    BIO_up_ref(SSL_get_rbio(ssl));  // SSL_set_fd gave rbio and wbio one shared reference
    BIO *pending = BIO_new(BIO_s_mem());
    SSL_set0_wbio(ssl, pending);
    double start = now_seconds();
    long sent = 0;
    int server_gone = 0;
    while (sent < records && !server_gone && now_seconds() - start < wait_seconds) {
        for (int batch = 0; batch < 1000 && sent < records; batch++, sent++) {
            if (SSL_key_update(ssl, SSL_KEY_UPDATE_REQUESTED) != 1 || SSL_do_handshake(ssl) != 1) return fail("SSL_key_update");
        }
        char *bytes;
        long count = BIO_get_mem_data(pending, &bytes);
        for (long offset = 0; offset < count && !server_gone;) {
            ssize_t written = send(fd, bytes + offset, (size_t)(count - offset), MSG_NOSIGNAL);
            if (written <= 0) server_gone = 1;  // closed, reset, or stalled past the send timeout
            else offset += written;
        }
        (void)BIO_reset(pending);
    }

    // Never read: wait for the server's FIN or reset, without consuming what it sent.
    double closed_after = -1;
    struct pollfd watch = {.fd = fd, .events = POLLRDHUP};
    while (now_seconds() - start < wait_seconds) {
        int remaining_ms = (int)((wait_seconds - (now_seconds() - start)) * 1000) + 1;
        if (poll(&watch, 1, remaining_ms) > 0 && (watch.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
            closed_after = now_seconds() - start;
            break;
        }
    }
    printf("{\"key_updates\": %ld, \"closed_after_seconds\": %.3f}\n", sent, closed_after);
    close(fd);
    return 0;
}

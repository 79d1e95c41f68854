#ifndef IRSA_CEVENTLOOPSHIMS_H
#define IRSA_CEVENTLOOPSHIMS_H
// Linux reactor headers that `import Glibc` does not expose. No _GNU_SOURCE here:
// it would turn accept4's address parameter into a union Swift cannot pass.
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/inotify.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <malloc.h>

/// accept4(2) with SOCK_NONBLOCK | SOCK_CLOEXEC; returns the new fd or -1 with errno set.
int CEventLoopShims_accept4(int fd, struct sockaddr *address, socklen_t *length);

/// Names the calling thread (at most 15 bytes) for /proc/<pid>/task/<tid>/comm, ps and gdb.
void CEventLoopShims_setThreadName(const char *name);
#endif

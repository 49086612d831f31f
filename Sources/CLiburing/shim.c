// Built with _GNU_SOURCE (cSettings): splice, pipe2, F_SETPIPE_SZ and POLLRDHUP live behind it.
#include "CLiburing.h"
#include <pthread.h>

long CLiburing_splice_nonblock(int fdIn, int fdOut, size_t length) {
    ssize_t n = splice(fdIn, NULL, fdOut, NULL, length, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
    return n < 0 ? -errno : (long)n;
}

int CLiburing_pipe_nonblock(int fds[2], int size) {
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        return -errno;
    }
    if (size > 0) {
        (void)fcntl(fds[0], F_SETPIPE_SZ, size);
    }
    return 0;
}

int CLiburing_accept_flags(void) { return SOCK_NONBLOCK | SOCK_CLOEXEC; }

unsigned CLiburing_poll_in_mask(void) { return POLLIN | POLLRDHUP | POLLERR | POLLHUP; }

unsigned CLiburing_poll_out_mask(void) { return POLLOUT | POLLERR | POLLHUP; }

int CLiburing_mptcp_is_active(int fd) {
    socklen_t len = 0;
    if (getsockopt(fd, SOL_MPTCP, MPTCP_INFO, NULL, &len) == 0) {
        return 1;
    }
    return errno == EOPNOTSUPP ? 0 : -errno;
}

void CLiburing_set_thread_name(const char *name) { (void)pthread_setname_np(pthread_self(), name); }

// The C shim: hands Swift liburing (whose inline functions Swift imports directly), the MPTCP and
// TCP socket options, and the few things glibc hides behind _GNU_SOURCE, as prefixed functions.
#ifndef C_LIBURING_H
#define C_LIBURING_H

// System headers first: liburing.h after them avoids an fd_set module conflict.
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <fcntl.h>
#include <unistd.h>
#include <errno.h>
#include <string.h>
#include <stdint.h>
#include <linux/mptcp.h>
#include <linux/netlink.h>
#include <linux/genetlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/prctl.h>
#include <sys/epoll.h>
#include <linux/errqueue.h>
#include <liburing.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif

static const int CLiburing_IPPROTO_MPTCP = IPPROTO_MPTCP;
static const int CLiburing_SOL_MPTCP = SOL_MPTCP;
static const int CLiburing_MPTCP_INFO = MPTCP_INFO;

static const unsigned CLiburing_IOSQE_IO_LINK = IOSQE_IO_LINK;
static const unsigned CLiburing_IOSQE_CQE_SKIP_SUCCESS = IOSQE_CQE_SKIP_SUCCESS;
static const unsigned CLiburing_IORING_CQE_F_MORE = IORING_CQE_F_MORE;

/// splice(2) between two descriptors with SPLICE_F_MOVE | SPLICE_F_NONBLOCK; returns bytes or -errno.
long CLiburing_splice_nonblock(int fdIn, int fdOut, size_t length);

/// pipe2(O_NONBLOCK | O_CLOEXEC) and F_SETPIPE_SZ; returns 0 or -errno. `size` 0 keeps the default.
int CLiburing_pipe_nonblock(int fds[2], int size);

/// accept4 with SOCK_NONBLOCK | SOCK_CLOEXEC flags, for io_uring accept ops.
int CLiburing_accept_flags(void);

/// POLLIN | POLLRDHUP and friends as io_uring poll masks.
unsigned CLiburing_poll_in_mask(void);
unsigned CLiburing_poll_out_mask(void);

/// Whether an accepted or connected IPPROTO_MPTCP socket speaks MPTCP (1), fell back to TCP (0), or -errno.
int CLiburing_mptcp_is_active(int fd);

/// One MPTCP subflow as MPTCP_FULL_INFO reports it: addresses (sockaddr_in or sockaddr_in6), the
/// kernel's subflow id, smoothed RTT, the bytes acknowledged by the peer and received, and the bytes sent
/// and retransmitted (tcpi_bytes_sent counts retransmissions too; 0 on kernels without the fields).
typedef struct {
    struct sockaddr_storage local;
    struct sockaddr_storage remote;
    uint32_t id;
    uint32_t rtt_us;
    uint64_t bytes_acked;
    uint64_t bytes_received;
    uint64_t bytes_sent;
    uint64_t bytes_retrans;
} CLiburing_subflow;

/// The subflows of an MPTCP socket (getsockopt MPTCP_FULL_INFO, Linux 6.6+): fills at most `capacity`
/// entries (at most 32) and returns how many, or -errno (-EOPNOTSUPP on a TCP fallback socket).
int CLiburing_mptcp_subflows(int fd, CLiburing_subflow *out, int capacity);

/// TCP_INFO of a TCP or MPTCP socket (an MPTCP socket answers for its first subflow): bytes sent (the
/// kernel's tcpi_bytes_sent, retransmissions excluded), bytes the peer acknowledged, and tcpi_options
/// (TCPI_OPT_SYN_DATA: the peer took the data in our SYN). Returns 0 or -errno (-EOPNOTSUPP when the
/// kernel's tcp_info is too old to have tcpi_bytes_sent).
int CLiburing_tcp_sent_acked(int fd, uint64_t *sent, uint64_t *acked, uint8_t *options);

static const uint8_t CLiburing_TCPI_OPT_SYN_DATA = TCPI_OPT_SYN_DATA;

/// Names the calling thread (pthread_setname_np, a GNU extension); 15 bytes are kept.
void CLiburing_set_thread_name(const char *name);

/// prctl(2) options for dropping privileges (prctl is variadic, which Swift cannot call).
static const int CLiburing_PR_SET_KEEPCAPS = PR_SET_KEEPCAPS;
static const int CLiburing_PR_CAPBSET_READ = PR_CAPBSET_READ;
static const int CLiburing_PR_CAPBSET_DROP = PR_CAPBSET_DROP;
static const int CLiburing_PR_CAP_AMBIENT = PR_CAP_AMBIENT;
static const int CLiburing_PR_CAP_AMBIENT_CLEAR_ALL = PR_CAP_AMBIENT_CLEAR_ALL;

/// prctl(option, arg2, arg3, 0, 0); returns its result, or -errno.
int CLiburing_prctl(int option, unsigned long arg2, unsigned long arg3);

/// The calling thread's capability sets (capget, version 3: one bit per capability number); 0 or -errno.
int CLiburing_capget(uint64_t *permitted, uint64_t *effective, uint64_t *inheritable);

/// Sets the calling thread's capability sets (capset, version 3); 0 or -errno.
int CLiburing_capset(uint64_t permitted, uint64_t effective, uint64_t inheritable);


/// epoll, for workers where io_uring is unavailable (epoll_event is a packed struct, which Swift
/// cannot lay out): EPOLLIN | EPOLLRDHUP, EPOLLOUT and EPOLLONESHOT.
static const unsigned CLiburing_EPOLLIN = EPOLLIN | EPOLLRDHUP;
static const unsigned CLiburing_EPOLLOUT = EPOLLOUT;
/// The peer's FIN in a poll's ready mask (POLLRDHUP, the same bit as EPOLLRDHUP).
static const unsigned CLiburing_PEER_CLOSED = EPOLLRDHUP;
static const unsigned CLiburing_EPOLLONESHOT = EPOLLONESHOT;

/// epoll_ctl ADD (`add` 1) or MOD of `fd` for `events` with `data`; returns 0 or -errno.
int CLiburing_epoll_set(int epfd, int fd, unsigned events, uint64_t data, int add);

/// epoll_wait into two arrays (data and events) of `capacity`; returns the count or -errno.
int CLiburing_epoll_wait(int epfd, uint64_t *data, uint32_t *events, int capacity, int timeoutMilliseconds);

/// accept4(SOCK_NONBLOCK | SOCK_CLOEXEC) without the peer's address; returns the descriptor or -errno.
int CLiburing_accept_nonblock(int fd);

/// The pending error of a socket (SO_ERROR), or -errno when getsockopt fails.
int CLiburing_socket_error(int fd);

/// Turns the queueing of ICMP errors on `fd`'s error queue on or off (IP_RECVERR, or IPV6_RECVERR when
/// `ipv6`); returns 0 or -errno. Only while connecting: on an established TCP socket it makes every ICMP
/// error, transient ones included, end the connection (ip(7)).
int CLiburing_set_icmp_errors(int fd, int ipv6, int on);

/// The code of the ICMP (type 3) or ICMPv6 (type 1) Destination Unreachable last queued on `fd` (after a
/// connect failed because of one), read from its error queue; -1 when none is queued.
int CLiburing_icmp_error_code(int fd);

/// Fixes glibc's mmap and trim thresholds at `bytes` (mallopt M_MMAP_THRESHOLD and M_TRIM_THRESHOLD, which
/// turns off their dynamic raising; malloc.h is not in Swift's Glibc module); returns 0, or -1 when glibc
/// refused one.
int CLiburing_fix_heap_thresholds(int bytes);

/// posix_spawn of `path` with `argv` and `envp` (NULL-terminated), its standard input, output and error
/// on `inFD`, `outFD` and `errFD`, every other descriptor closed (closefrom 3, so that a child never
/// inherits a socket or pipe), default signal handling and an empty signal mask; returns the pid or
/// -errno. (Foundation's Process.run on Swift 6.3 reads past a buffer while it lists /proc/self/fd, and
/// crashes now and then in a process with many descriptors: swift-corelibs-foundation PR 5472.)
int CLiburing_spawn(const char *path, char *const argv[], char *const envp[], int inFD, int outFD, int errFD);

#endif

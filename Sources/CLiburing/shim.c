// Built with _GNU_SOURCE (cSettings): splice, pipe2, F_SETPIPE_SZ and POLLRDHUP live behind it.
#include "CLiburing.h"
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <linux/capability.h>

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

// MPTCP_FULL_INFO and its struct arrived in Linux 6.6 headers; Debian 12 ships 6.1 headers.
#define CLIBURING_MPTCP_FULL_INFO 4

struct CLiburing_mptcp_subflow_info {
    __u32 id;
    struct mptcp_subflow_addrs addrs;
};

struct CLiburing_mptcp_full_info {
    __u32 size_tcpinfo_kernel;
    __u32 size_tcpinfo_user;
    __u32 size_sfinfo_kernel;
    __u32 size_sfinfo_user;
    __u32 num_subflows;
    __u32 size_arrays_user;
    __aligned_u64 subflow_info;
    __aligned_u64 tcp_info;
    struct mptcp_info mptcp_info;
};

// glibc's struct tcp_info stops at tcpi_total_retrans; the kernel's goes on with the fields below.
struct CLiburing_tcp_info {
    struct tcp_info base;
    __u64 pacing_rate;
    __u64 max_pacing_rate;
    __u64 bytes_acked;
    __u64 bytes_received;
    __u8 between[64];
    __u64 bytes_sent;
    __u64 bytes_retrans;
    __u8 rest[80];
};
_Static_assert(offsetof(struct CLiburing_tcp_info, bytes_acked) == 120, "kernel tcp_info layout");
_Static_assert(offsetof(struct CLiburing_tcp_info, bytes_sent) == 200, "kernel tcp_info layout");
_Static_assert(offsetof(struct CLiburing_tcp_info, bytes_retrans) == 208, "kernel tcp_info layout");

int CLiburing_tcp_sent_acked(int fd, uint64_t *sent, uint64_t *acked, uint8_t *options) {
    struct CLiburing_tcp_info info;
    memset(&info, 0, sizeof(info));
    socklen_t length = sizeof(info);
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) {
        return -errno;
    }
    if (length < offsetof(struct CLiburing_tcp_info, bytes_sent) + sizeof(info.bytes_sent)) {
        return -EOPNOTSUPP;
    }
    *sent = info.bytes_sent;
    *acked = info.bytes_acked;
    *options = info.base.tcpi_options;
    return 0;
}

int CLiburing_mptcp_subflows(int fd, CLiburing_subflow *out, int capacity) {
    enum { MAXIMUM = 32 };
    struct CLiburing_mptcp_subflow_info subflows[MAXIMUM];
    struct CLiburing_tcp_info infos[MAXIMUM];
    struct CLiburing_mptcp_full_info full;
    if (capacity > MAXIMUM) {
        capacity = MAXIMUM;
    }
    if (capacity < 0) {
        capacity = 0;
    }
    memset(&full, 0, sizeof(full));
    memset(subflows, 0, sizeof(subflows));
    memset(infos, 0, sizeof(infos));
    full.size_tcpinfo_user = sizeof(struct CLiburing_tcp_info);
    full.size_sfinfo_user = sizeof(struct CLiburing_mptcp_subflow_info);
    full.size_arrays_user = (__u32)capacity;
    full.subflow_info = (__u64)(uintptr_t)subflows;
    full.tcp_info = (__u64)(uintptr_t)infos;
    socklen_t length = sizeof(full);
    if (getsockopt(fd, SOL_MPTCP, CLIBURING_MPTCP_FULL_INFO, &full, &length) != 0) {
        return -errno;
    }
    // The kernel writes back the element sizes it used (the smaller of its own and ours) and steps through
    // both arrays by them.
    size_t tcpStride = full.size_tcpinfo_user;
    size_t flowStride = full.size_sfinfo_user;
    if (tcpStride == 0 || tcpStride > sizeof(struct CLiburing_tcp_info) || flowStride == 0 ||
        flowStride > sizeof(struct CLiburing_mptcp_subflow_info)) {
        return -EPROTO;
    }
    int count = (int)full.num_subflows < capacity ? (int)full.num_subflows : capacity;
    for (int index = 0; index < count; index++) {
        struct CLiburing_mptcp_subflow_info flow;
        struct CLiburing_tcp_info info;
        memset(&flow, 0, sizeof(flow));
        memset(&info, 0, sizeof(info));
        memcpy(&flow, (const char *)subflows + (size_t)index * flowStride, flowStride);
        memcpy(&info, (const char *)infos + (size_t)index * tcpStride, tcpStride);
        memset(&out[index], 0, sizeof(out[index]));
        memcpy(&out[index].local, &flow.addrs.ss_local, sizeof(struct sockaddr_in6));
        memcpy(&out[index].remote, &flow.addrs.ss_remote, sizeof(struct sockaddr_in6));
        out[index].id = flow.id;
        out[index].rtt_us = info.base.tcpi_rtt;
        out[index].bytes_acked = tcpStride >= offsetof(struct CLiburing_tcp_info, bytes_received) + 8 ? info.bytes_acked : 0;
        out[index].bytes_received = tcpStride >= offsetof(struct CLiburing_tcp_info, bytes_received) + 8 ? info.bytes_received : 0;
        out[index].bytes_sent = tcpStride >= offsetof(struct CLiburing_tcp_info, bytes_retrans) + 8 ? info.bytes_sent : 0;
        out[index].bytes_retrans = tcpStride >= offsetof(struct CLiburing_tcp_info, bytes_retrans) + 8 ? info.bytes_retrans : 0;
    }
    return count;
}

int CLiburing_prctl(int option, unsigned long arg2, unsigned long arg3) {
    int result = prctl(option, arg2, arg3, 0UL, 0UL);
    return result < 0 ? -errno : result;
}

// glibc has no capget/capset wrappers (libcap does); version 3 takes two 32-bit words per set.
int CLiburing_capget(uint64_t *permitted, uint64_t *effective, uint64_t *inheritable) {
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof(data));
    if (syscall(SYS_capget, &header, data) != 0) {
        return -errno;
    }
    *permitted = (uint64_t)data[1].permitted << 32 | data[0].permitted;
    *effective = (uint64_t)data[1].effective << 32 | data[0].effective;
    *inheritable = (uint64_t)data[1].inheritable << 32 | data[0].inheritable;
    return 0;
}

int CLiburing_capset(uint64_t permitted, uint64_t effective, uint64_t inheritable) {
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct data[2] = {
        {.effective = (uint32_t)effective, .permitted = (uint32_t)permitted, .inheritable = (uint32_t)inheritable},
        {.effective = (uint32_t)(effective >> 32),
         .permitted = (uint32_t)(permitted >> 32),
         .inheritable = (uint32_t)(inheritable >> 32)},
    };
    return syscall(SYS_capset, &header, data) == 0 ? 0 : -errno;
}

int CLiburing_epoll_set(int epfd, int fd, unsigned events, uint64_t data, int add) {
    struct epoll_event event = {.events = events, .data = {.u64 = data}};
    return epoll_ctl(epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event) == 0 ? 0 : -errno;
}

int CLiburing_epoll_wait(int epfd, uint64_t *data, uint32_t *events, int capacity, int timeoutMilliseconds) {
    struct epoll_event ready[256];
    int count = epoll_wait(epfd, ready, capacity < 256 ? capacity : 256, timeoutMilliseconds);
    if (count < 0) {
        return -errno;
    }
    for (int index = 0; index < count; index++) {
        data[index] = ready[index].data.u64;
        events[index] = ready[index].events;
    }
    return count;
}

int CLiburing_socket_error(int fd) {
    int error = 0;
    socklen_t length = sizeof(error);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
        return -errno;
    }
    return error;
}

int CLiburing_accept_nonblock(int fd) {
    int accepted = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    return accepted < 0 ? -errno : accepted;
}

int CLiburing_spawn(const char *path, char *const argv[], char *const envp[], int inFD, int outFD, int errFD) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    sigset_t empty, all;
    pid_t pid = -1;
    int result = posix_spawn_file_actions_init(&actions);
    if (result != 0) return -result;
    result = posix_spawnattr_init(&attributes);
    if (result != 0) {
        posix_spawn_file_actions_destroy(&actions);
        return -result;
    }
    sigemptyset(&empty);
    sigfillset(&all);
    if (result == 0) result = posix_spawn_file_actions_adddup2(&actions, inFD, 0);
    if (result == 0) result = posix_spawn_file_actions_adddup2(&actions, outFD, 1);
    if (result == 0) result = posix_spawn_file_actions_adddup2(&actions, errFD, 2);
    if (result == 0) result = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (result == 0) result = posix_spawnattr_setsigmask(&attributes, &empty);
    if (result == 0) result = posix_spawnattr_setsigdefault(&attributes, &all);
    if (result == 0) result = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (result == 0) result = posix_spawn(&pid, path, &actions, &attributes, argv, envp);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return result == 0 ? pid : -result;
}

int CLiburing_set_icmp_errors(int fd, int ipv6, int on) {
    int result = ipv6 ? setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on)
                      : setsockopt(fd, IPPROTO_IP, IP_RECVERR, &on, sizeof on);
    return result == 0 ? 0 : -errno;
}

int CLiburing_icmp_error_code(int fd) {
    union {
        char bytes[512];
        struct cmsghdr align;
    } control;
    char data[64];
    struct iovec vector = { .iov_base = data, .iov_len = sizeof data };
    int code = -1;
    for (int round = 0; round < 8; round++) {
        struct msghdr message = {
            .msg_iov = &vector, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes,
        };
        if (recvmsg(fd, &message, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
        for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
            int isError = (header->cmsg_level == IPPROTO_IP && header->cmsg_type == IP_RECVERR)
                || (header->cmsg_level == IPPROTO_IPV6 && header->cmsg_type == IPV6_RECVERR);
            if (!isError) continue;
            const struct sock_extended_err *error = (const struct sock_extended_err *)CMSG_DATA(header);
            // Destination Unreachable only (ICMP type 3, ICMPv6 type 1): a Time Exceeded or a Parameter
            // Problem also ends a connect, but its code means something else.
            if ((error->ee_origin == SO_EE_ORIGIN_ICMP && error->ee_type == 3)
                || (error->ee_origin == SO_EE_ORIGIN_ICMP6 && error->ee_type == 1)) {
                code = error->ee_code;
            }
        }
    }
    return code;
}

int CLiburing_fix_heap_thresholds(int bytes) {
    int mmap_ok = mallopt(M_MMAP_THRESHOLD, bytes);
    int trim_ok = mallopt(M_TRIM_THRESHOLD, bytes);
    return mmap_ok == 1 && trim_ok == 1 ? 0 : -1;
}

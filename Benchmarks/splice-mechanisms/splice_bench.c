/*
 * splice_bench.c — how fast, and at what CPU cost, can one thread move bytes from
 * one socket to another?  A measurement tool for docs/DATA-PATH.md, not product code.
 *
 *   source thread --(connection A)--> relay thread --(connection B)--> sink thread
 *
 * The source writes N bytes into A as fast as it can, then half-closes A.  The relay
 * thread moves bytes from A's accepted end to B with the mechanism under test and,
 * on EOF, half-closes B (shutdown(SHUT_WR)), as the relay does.  The sink reads B to
 * EOF and checks the byte count.  Everything runs on 127.0.0.1; both connections are
 * IPPROTO_MPTCP (262) or plain TCP, per -p; -p tcp2mptcp (A TCP, B MPTCP: the forward role)
 * and -p mptcp2tcp (A MPTCP, B TCP: the convert role) mix them as the relay does.
 *
 * Mechanisms (-m):
 *   a  blocking splice() loop, socket -> pipe -> socket           (reference upper bound)
 *   b  io_uring IORING_OP_POLL_ADD readiness + inline nonblocking splice()
 *      (what Sources/RelayCore/Engine/Worker+Pump.swift does, same poll masks,
 *      same ring flags, same 8 rounds per readiness event)
 *   c  IORING_OP_SPLICE one op at a time: socket -> pipe, wait, pipe -> socket, wait
 *   d  IORING_OP_SPLICE socket -> pipe linked (IOSQE_IO_LINK) to pipe -> socket; a short
 *      first splice cancels the second (-ECANCELED), which is then re-issued alone
 *   e  io_uring IORING_OP_RECV / IORING_OP_SEND through one userspace buffer (copy path)
 *   f  io_uring multishot recv into a provided-buffer ring + IORING_OP_SEND (copy path)
 *
 * Output: one line of key=value pairs per run (parsed by run.sh).
 *   gbps              payload Gbit/s, wall time from "go" to the sink's EOF
 *   relay_thread_cpu  CPU seconds (user+sys) of the relay thread (getrusage RUSAGE_THREAD)
 *   iowq_cpu          CPU seconds of io_uring's io-wq workers (= process - source - sink
 *                     - relay - main); IORING_OP_SPLICE always runs there, so counting the
 *                     relay thread alone would hide the cost of (c) and (d)
 *   relay_cpu_per_gb  (relay_thread_cpu + iowq_cpu) per 1e9 bytes moved
 *   machine_cpu       busy CPU seconds of the whole machine over the run, from /proc/stat
 *                     (user+nice+system+irq+softirq+steal; 1/USER_HZ resolution), with the
 *                     source and sink included: a cross-check, not the relay's own cost
 * Kernel network work done in softirq context is charged to whichever thread was
 * running; on loopback that is mostly the sending thread (source for A, relay for B).
 *
 * Build:  gcc -O2 -Wall -Wextra -pthread -o splice_bench splice_bench.c -luring
 * Usage:  splice_bench -m a|b|c|d|e|f [-p mptcp|tcp|tcp2mptcp|mptcp2tcp] [-n BYTES] [-s PIPE_BYTES] [-t SECONDS]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOL_MPTCP
#define SOL_MPTCP 284
#endif
#ifndef MPTCP_INFO
#define MPTCP_INFO 1
#endif

/* ---- configuration ---------------------------------------------------------------- */

static char mechanism = 'b';
static int mptcp_a = 1, mptcp_b = 1; /* -p: protocol of connection A and of B */
static const char *protocol_name = "mptcp";
static uint64_t total_bytes = 4ULL << 30; /* -n */
static size_t pipe_size = 256 * 1024;     /* -s, also the userspace buffer size for (e) */
static unsigned watchdog_seconds = 300;    /* -t: SIGALRM kills a hung run */

enum { PUMP_ROUNDS = 8 };                  /* Worker.pumpRounds */
enum { PBUF_COUNT = 16, PBUF_SIZE = 64 * 1024 }; /* (f): 16 x 64 KiB provided buffers */

/* ---- shared state ---------------------------------------------------------------- */

static pthread_barrier_t start_barrier; /* main, source, sink, relay: all set up, go */
static int listen_a, listen_b;
static struct sockaddr_in addr_a, addr_b;

static double source_cpu, sink_cpu, relay_cpu;
static uint64_t sink_received;
static struct timespec t_go, t_done;
static const char *transport_a = "?", *transport_b = "?";
/* Counters a mechanism may fill in, reported as extra fields. */
static uint64_t stat_ops, stat_short, stat_eagain;

static void die(const char *what, int err) {
    fprintf(stderr, "splice_bench: %s: %s\n", what, strerror(err));
    exit(1);
}

static double thread_cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static double process_cpu(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru); /* includes io-wq worker threads, live or exited */
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* Busy seconds of all CPUs since boot, from the first line of /proc/stat. */
static double machine_busy(void) {
    unsigned long long user = 0, nice = 0, sys = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return 0;
    if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &sys, &idle, &iowait, &irq, &softirq,
               &steal) != 8)
        user = nice = sys = irq = softirq = steal = 0;
    fclose(f);
    return (double)(user + nice + sys + irq + softirq + steal) / (double)sysconf(_SC_CLK_TCK);
}

static double seconds_between(struct timespec a, struct timespec b) {
    return (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
}

static int new_socket(int mptcp) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, mptcp ? IPPROTO_MPTCP : IPPROTO_TCP);
    if (fd < 0) die("socket", errno);
    return fd;
}

static int make_listener(struct sockaddr_in *addr, int mptcp) {
    int fd = new_socket(mptcp);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)addr, sizeof *addr) != 0) die("bind", errno);
    if (listen(fd, 4) != 0) die("listen", errno);
    socklen_t len = sizeof *addr;
    getsockname(fd, (struct sockaddr *)addr, &len);
    return fd;
}

static int connect_to(const struct sockaddr_in *addr, int mptcp) {
    int fd = new_socket(mptcp);
    if (connect(fd, (const struct sockaddr *)addr, sizeof *addr) != 0) die("connect", errno);
    return fd;
}

/* Same test as CLiburing_mptcp_is_active: MPTCP_INFO answers only on a real MPTCP socket. */
static const char *transport_of(int fd, int mptcp) {
    socklen_t len = 0;
    if (!mptcp) return "tcp";
    return getsockopt(fd, SOL_MPTCP, MPTCP_INFO, NULL, &len) == 0 ? "mptcp" : "tcp-fallback";
}

static void set_nonblocking(int fd, int on) {
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, on ? flags | O_NONBLOCK : flags & ~O_NONBLOCK);
}

static void make_pipe(int fds[2], int nonblocking) {
    if (pipe2(fds, O_CLOEXEC | (nonblocking ? O_NONBLOCK : 0)) != 0) die("pipe2", errno);
    if (fcntl(fds[0], F_SETPIPE_SZ, (int)pipe_size) < 0) die("F_SETPIPE_SZ", errno);
}

/* ---- source and sink ----------------------------------------------------------------- */

static void *source_main(void *unused) {
    (void)unused;
    int fd = connect_to(&addr_a, mptcp_a);
    size_t chunk = 256 * 1024;
    char *buffer = malloc(chunk);
    memset(buffer, 0x5a, chunk);
    pthread_barrier_wait(&start_barrier);
    double cpu0 = thread_cpu();
    uint64_t left = total_bytes;
    while (left > 0) {
        ssize_t n = send(fd, buffer, left < chunk ? left : chunk, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("source send", errno);
        }
        left -= (uint64_t)n;
    }
    shutdown(fd, SHUT_WR);
    source_cpu = thread_cpu() - cpu0;
    /* Keep the socket until the relay has read everything: close only after the peer's EOF. */
    char c;
    while (recv(fd, &c, 1, 0) > 0) {
    }
    close(fd);
    free(buffer);
    return NULL;
}

static void *sink_main(void *unused) {
    (void)unused;
    int fd = accept4(listen_b, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) die("sink accept", errno);
    size_t chunk = 256 * 1024;
    char *buffer = malloc(chunk);
    pthread_barrier_wait(&start_barrier);
    double cpu0 = thread_cpu();
    uint64_t received = 0;
    for (;;) {
        ssize_t n = recv(fd, buffer, chunk, 0);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            die("sink recv", errno);
        }
        received += (uint64_t)n;
    }
    clock_gettime(CLOCK_MONOTONIC, &t_done);
    sink_cpu = thread_cpu() - cpu0;
    sink_received = received;
    close(fd);
    free(buffer);
    return NULL;
}

/* ---- io_uring helpers ---------------------------------------------------------------- */

/* The relay's ring flags (Sources/RelayCore/Ring/IOUring.swift), falling back to none. */
static void ring_init(struct io_uring *ring) {
    struct io_uring_params p;
    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
    int r = io_uring_queue_init_params(64, ring, &p);
    if (r < 0) {
        memset(&p, 0, sizeof p);
        r = io_uring_queue_init_params(64, ring, &p);
    }
    if (r < 0) die("io_uring_queue_init_params", -r);
}

static struct io_uring_sqe *get_sqe(struct io_uring *ring) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe) die("io_uring_get_sqe", EBUSY);
    return sqe;
}

/* Submits what is queued, waits for one completion, returns its result and user data. */
static int wait_one(struct io_uring *ring, uint64_t *user_data, unsigned *flags) {
    struct io_uring_cqe *cqe;
    int r;
    do {
        r = io_uring_submit_and_wait(ring, 1);
    } while (r == -EINTR);
    if (r < 0) die("io_uring_submit_and_wait", -r);
    r = io_uring_peek_cqe(ring, &cqe);
    if (r < 0) die("io_uring_peek_cqe", -r);
    int res = cqe->res;
    if (user_data) *user_data = cqe->user_data;
    if (flags) *flags = cqe->flags;
    io_uring_cqe_seen(ring, cqe);
    return res;
}

static int uring_splice_sync(struct io_uring *ring, int in, int out, size_t len) {
    struct io_uring_sqe *sqe = get_sqe(ring);
    io_uring_prep_splice(sqe, in, -1, out, -1, (unsigned)len, SPLICE_F_MOVE);
    stat_ops++;
    return wait_one(ring, NULL, NULL);
}

/* Pipe -> socket until `len` bytes have left the pipe, one IORING_OP_SPLICE at a time. */
static void uring_drain_pipe(struct io_uring *ring, int pipe_rd, int out, size_t len) {
    while (len > 0) {
        int w = uring_splice_sync(ring, pipe_rd, out, len);
        if (w <= 0) die("io_uring splice pipe->socket", w < 0 ? -w : EPIPE);
        len -= (size_t)w;
    }
}

/* ---- the mechanisms: each moves A -> B until EOF on A; the caller half-closes B ------- */

/* (a) Blocking splice(): the kernel sleeps for us; the floor for overhead. */
static uint64_t relay_blocking_splice(int a, int b) {
    int p[2];
    make_pipe(p, 0);
    uint64_t moved = 0;
    for (;;) {
        ssize_t n = splice(a, NULL, p[1], NULL, pipe_size, SPLICE_F_MOVE);
        stat_ops++;
        if (n == 0) break;
        if (n < 0) die("splice socket->pipe", errno);
        ssize_t left = n;
        while (left > 0) {
            ssize_t w = splice(p[0], NULL, b, NULL, (size_t)left, SPLICE_F_MOVE);
            stat_ops++;
            if (w <= 0) die("splice pipe->socket", w < 0 ? errno : EPIPE);
            left -= w;
        }
        moved += (uint64_t)n;
    }
    close(p[0]);
    close(p[1]);
    return moved;
}

/* (b) The relay's pump: one-shot POLL_ADD for readiness, then nonblocking splice() inline
 * in this thread, up to PUMP_ROUNDS round trips per event, re-arming the poll on EAGAIN.
 * Sockets and pipe are O_NONBLOCK, as accept4(SOCK_NONBLOCK) and pipe2(O_NONBLOCK) make them. */
static uint64_t relay_poll_inline_splice(int a, int b) {
    struct io_uring ring;
    ring_init(&ring);
    set_nonblocking(a, 1);
    set_nonblocking(b, 1);
    int p[2];
    make_pipe(p, 1);
    const unsigned in_mask = POLLIN | POLLRDHUP | POLLERR | POLLHUP; /* CLiburing_poll_in_mask */
    const unsigned out_mask = POLLOUT | POLLERR | POLLHUP;           /* CLiburing_poll_out_mask */
    size_t buffered = 0;
    uint64_t moved = 0;
    int source_ended = 0;
    int waiting_fd = a; /* the first event: A readable */
    unsigned waiting_mask = in_mask;
    for (;;) {
        struct io_uring_sqe *sqe = get_sqe(&ring);
        io_uring_prep_poll_add(sqe, waiting_fd, waiting_mask);
        stat_ops++;
        int res = wait_one(&ring, NULL, NULL);
        if (res < 0) die("poll", -res);
        /* pump(): what Worker.pump does after a readiness completion. */
        int rounds;
        for (rounds = 0; rounds < PUMP_ROUNDS; rounds++) {
            if (buffered > 0) {
                ssize_t w = splice(p[0], NULL, b, NULL, buffered, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
                stat_ops++;
                if (w > 0) {
                    buffered -= (size_t)w;
                    moved += (uint64_t)w;
                    continue;
                }
                if (w < 0 && errno == EAGAIN) {
                    stat_eagain++;
                    waiting_fd = b, waiting_mask = out_mask;
                    break;
                }
                die("splice pipe->socket", w < 0 ? errno : EPIPE);
            }
            if (source_ended) goto done;
            ssize_t n = splice(a, NULL, p[1], NULL, pipe_size, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
            stat_ops++;
            if (n > 0) {
                buffered = (size_t)n;
                continue;
            }
            if (n == 0) {
                source_ended = 1;
                continue;
            }
            if (errno == EAGAIN) {
                stat_eagain++;
                waiting_fd = a, waiting_mask = in_mask;
                break;
            }
            die("splice socket->pipe", errno);
        }
        if (rounds == PUMP_ROUNDS) { /* out of rounds: a poll on a ready socket completes at once */
            if (buffered > 0)
                waiting_fd = b, waiting_mask = out_mask;
            else
                waiting_fd = a, waiting_mask = in_mask;
        }
    }
done:
    close(p[0]);
    close(p[1]);
    io_uring_queue_exit(&ring);
    set_nonblocking(b, 0);
    return moved;
}

/* (c) IORING_OP_SPLICE, strictly one op in flight.  The op is always punted to an io-wq
 * worker (REQ_F_FORCE_ASYNC) and blocks there, so the sockets and the pipe stay blocking. */
static uint64_t relay_uring_splice_serial(int a, int b) {
    struct io_uring ring;
    ring_init(&ring);
    int p[2];
    make_pipe(p, 0);
    uint64_t moved = 0;
    for (;;) {
        int n = uring_splice_sync(&ring, a, p[1], pipe_size);
        if (n == 0) break;
        if (n < 0) die("io_uring splice socket->pipe", -n);
        uring_drain_pipe(&ring, p[0], b, (size_t)n);
        moved += (uint64_t)n;
    }
    close(p[0]);
    close(p[1]);
    io_uring_queue_exit(&ring);
    return moved;
}

/* (d) IORING_OP_SPLICE socket -> pipe (IOSQE_IO_LINK) -> IORING_OP_SPLICE pipe -> socket.
 * The link holds only if the first splice moves exactly its length (pipe_size).  A short
 * first splice (the usual case: it returns what the receive queue held) fails the link
 * and the second op completes with -ECANCELED; the bytes are then in the pipe and are
 * moved by a pipe -> socket splice issued on its own.  EOF (0) cancels it the same way. */
static uint64_t relay_uring_splice_linked(int a, int b) {
    struct io_uring ring;
    ring_init(&ring);
    int p[2];
    make_pipe(p, 0);
    uint64_t moved = 0;
    for (;;) {
        struct io_uring_sqe *sqe = get_sqe(&ring);
        io_uring_prep_splice(sqe, a, -1, p[1], -1, (unsigned)pipe_size, SPLICE_F_MOVE);
        sqe->flags |= IOSQE_IO_LINK;
        io_uring_sqe_set_data64(sqe, 1);
        sqe = get_sqe(&ring);
        io_uring_prep_splice(sqe, p[0], -1, b, -1, (unsigned)pipe_size, SPLICE_F_MOVE);
        io_uring_sqe_set_data64(sqe, 2);
        stat_ops += 2;
        int read = -1, written = -1, seen = 0;
        while (seen < 2) { /* both completions, in whatever order they arrive */
            uint64_t tag;
            int res = wait_one(&ring, &tag, NULL);
            if (tag == 1) read = res; else written = res;
            seen++;
        }
        if (read < 0) die("io_uring splice socket->pipe", -read);
        if (written == -ECANCELED) {
            if (read == 0) break; /* EOF */
            stat_short++;
            uring_drain_pipe(&ring, p[0], b, (size_t)read);
        } else if (written < 0) {
            die("io_uring splice pipe->socket", -written);
        } else if (written < read) {
            uring_drain_pipe(&ring, p[0], b, (size_t)(read - written));
        }
        moved += (uint64_t)read;
    }
    close(p[0]);
    close(p[1]);
    io_uring_queue_exit(&ring);
    return moved;
}

/* (e) IORING_OP_RECV into one userspace buffer, then IORING_OP_SEND of it (two copies). */
static uint64_t relay_uring_recv_send(int a, int b) {
    struct io_uring ring;
    ring_init(&ring);
    char *buffer = malloc(pipe_size);
    uint64_t moved = 0;
    for (;;) {
        struct io_uring_sqe *sqe = get_sqe(&ring);
        io_uring_prep_recv(sqe, a, buffer, pipe_size, 0);
        stat_ops++;
        int n = wait_one(&ring, NULL, NULL);
        if (n == 0) break;
        if (n < 0) die("io_uring recv", -n);
        int off = 0;
        while (off < n) {
            sqe = get_sqe(&ring);
            io_uring_prep_send(sqe, b, buffer + off, (size_t)(n - off), MSG_NOSIGNAL);
            stat_ops++;
            int w = wait_one(&ring, NULL, NULL);
            if (w <= 0) die("io_uring send", w < 0 ? -w : EPIPE);
            if (w < n - off) stat_short++;
            off += w;
        }
        moved += (uint64_t)n;
    }
    free(buffer);
    io_uring_queue_exit(&ring);
    return moved;
}

/* (f) Multishot IORING_OP_RECV selecting from a provided-buffer ring (16 x 64 KiB), one
 * IORING_OP_SEND in flight at a time in arrival order; a buffer goes back to the ring when
 * its send completes.  Receiving and sending overlap, unlike (e). */
static uint64_t relay_uring_bufring(int a, int b) {
    struct io_uring ring;
    ring_init(&ring);
    int err = 0;
    struct io_uring_buf_ring *br;
    void *mem;
    if (posix_memalign(&mem, 4096, PBUF_COUNT * sizeof(struct io_uring_buf))) die("posix_memalign", ENOMEM);
    br = mem;
    struct io_uring_buf_reg reg = {.ring_addr = (unsigned long)br, .ring_entries = PBUF_COUNT, .bgid = 0};
    if ((err = io_uring_register_buf_ring(&ring, &reg, 0)) < 0) die("io_uring_register_buf_ring", -err);
    io_uring_buf_ring_init(br);
    char *buffers = malloc((size_t)PBUF_COUNT * PBUF_SIZE);
    for (int i = 0; i < PBUF_COUNT; i++)
        io_uring_buf_ring_add(br, buffers + (size_t)i * PBUF_SIZE, PBUF_SIZE, (unsigned short)i,
                              io_uring_buf_ring_mask(PBUF_COUNT), i);
    io_uring_buf_ring_advance(br, PBUF_COUNT);

    struct { int bid, len; } queue[PBUF_COUNT]; /* received, not yet sent, in order */
    int q_head = 0, q_count = 0;
    int recv_armed = 0, send_busy = 0, send_bid = -1, send_off = 0, send_len = 0;
    int source_ended = 0, out_of_buffers = 0;
    uint64_t moved = 0;
    enum { TAG_RECV = 1, TAG_SEND = 2 };

    for (;;) {
        if (!recv_armed && !source_ended && !out_of_buffers) {
            struct io_uring_sqe *sqe = get_sqe(&ring);
            io_uring_prep_recv_multishot(sqe, a, NULL, 0, 0);
            sqe->flags |= IOSQE_BUFFER_SELECT;
            sqe->buf_group = 0;
            io_uring_sqe_set_data64(sqe, TAG_RECV);
            recv_armed = 1;
            stat_ops++;
        }
        if (!send_busy && q_count > 0) {
            send_bid = queue[q_head].bid;
            send_len = queue[q_head].len;
            send_off = 0;
            q_head = (q_head + 1) % PBUF_COUNT;
            q_count--;
            send_busy = 1;
        }
        if (send_busy && send_off == 0 && send_len > 0) { /* new send (partial ones re-queue below) */
            struct io_uring_sqe *sqe = get_sqe(&ring);
            io_uring_prep_send(sqe, b, buffers + (size_t)send_bid * PBUF_SIZE, (size_t)send_len, MSG_NOSIGNAL);
            io_uring_sqe_set_data64(sqe, TAG_SEND);
            send_off = -1; /* marks "in flight" */
            stat_ops++;
        }
        if (source_ended && !send_busy && q_count == 0 && !recv_armed) break;

        uint64_t tag;
        unsigned flags;
        int res = wait_one(&ring, &tag, &flags);
        if (tag == TAG_RECV) {
            if (!(flags & IORING_CQE_F_MORE)) recv_armed = 0;
            if (res == -ENOBUFS) { out_of_buffers = 1; stat_eagain++; continue; }
            if (res < 0) die("io_uring recv multishot", -res);
            if (res == 0) { source_ended = 1; continue; }
            int bid = (int)(flags >> IORING_CQE_BUFFER_SHIFT);
            queue[(q_head + q_count) % PBUF_COUNT].bid = bid;
            queue[(q_head + q_count) % PBUF_COUNT].len = res;
            q_count++;
            moved += (uint64_t)res;
        } else {
            if (res <= 0) die("io_uring send", res < 0 ? -res : EPIPE);
            if (res < send_len) { /* partial: send the rest of this buffer */
                stat_short++;
                char *base = buffers + (size_t)send_bid * PBUF_SIZE;
                memmove(base, base + res, (size_t)(send_len - res));
                send_len -= res;
                send_off = 0;
                continue;
            }
            io_uring_buf_ring_add(br, buffers + (size_t)send_bid * PBUF_SIZE, PBUF_SIZE, (unsigned short)send_bid,
                                  io_uring_buf_ring_mask(PBUF_COUNT), 0);
            io_uring_buf_ring_advance(br, 1);
            out_of_buffers = 0;
            send_busy = 0;
        }
    }
    io_uring_unregister_buf_ring(&ring, 0);
    io_uring_queue_exit(&ring);
    free(buffers);
    free(mem);
    return moved;
}

/* ---- relay thread and main ------------------------------------------------------------ */

static uint64_t relay_moved;

static void *relay_main(void *unused) {
    (void)unused;
    int a = accept4(listen_a, NULL, NULL, SOCK_CLOEXEC);
    if (a < 0) die("relay accept", errno);
    int b = connect_to(&addr_b, mptcp_b);
    transport_a = transport_of(a, mptcp_a);
    transport_b = transport_of(b, mptcp_b);
    pthread_barrier_wait(&start_barrier);
    double cpu0 = thread_cpu();
    switch (mechanism) {
    case 'a': relay_moved = relay_blocking_splice(a, b); break;
    case 'b': relay_moved = relay_poll_inline_splice(a, b); break;
    case 'c': relay_moved = relay_uring_splice_serial(a, b); break;
    case 'd': relay_moved = relay_uring_splice_linked(a, b); break;
    case 'e': relay_moved = relay_uring_recv_send(a, b); break;
    case 'f': relay_moved = relay_uring_bufring(a, b); break;
    }
    shutdown(b, SHUT_WR); /* half-close propagated, as the relay does on EOF */
    relay_cpu = thread_cpu() - cpu0;
    close(a); /* the source is waiting for this EOF */
    /* Keep B open until the sink has read it all: closing early could reset unread data. */
    char c;
    while (recv(b, &c, 1, 0) > 0) {
    }
    close(b);
    return NULL;
}

static void usage(void) {
    fprintf(stderr, "usage: splice_bench -m a|b|c|d|e|f [-p mptcp|tcp|tcp2mptcp|mptcp2tcp] [-n BYTES] [-s PIPE_BYTES] [-t SECONDS]\n");
    exit(2);
}

int main(int argc, char **argv) {
    int opt;
    while ((opt = getopt(argc, argv, "m:p:n:s:t:")) != -1) {
        switch (opt) {
        case 'm':
            mechanism = optarg[0];
            if (mechanism < 'a' || mechanism > 'f' || optarg[1]) usage();
            break;
        case 'p':
            protocol_name = optarg;
            if (strcmp(optarg, "mptcp") == 0) mptcp_a = 1, mptcp_b = 1;
            else if (strcmp(optarg, "tcp") == 0) mptcp_a = 0, mptcp_b = 0;
            else if (strcmp(optarg, "tcp2mptcp") == 0) mptcp_a = 0, mptcp_b = 1;
            else if (strcmp(optarg, "mptcp2tcp") == 0) mptcp_a = 1, mptcp_b = 0;
            else usage();
            break;
        case 'n': total_bytes = strtoull(optarg, NULL, 0); break;
        case 's': pipe_size = strtoull(optarg, NULL, 0); break;
        case 't': watchdog_seconds = (unsigned)strtoul(optarg, NULL, 0); break;
        default: usage();
        }
    }
    if (total_bytes == 0 || pipe_size < 4096) usage();
    alarm(watchdog_seconds); /* default SIGALRM action ends a hung run */

    listen_a = make_listener(&addr_a, mptcp_a);
    listen_b = make_listener(&addr_b, mptcp_b);
    pthread_barrier_init(&start_barrier, NULL, 4);
    pthread_t source, sink, relay;
    pthread_create(&sink, NULL, sink_main, NULL);
    pthread_create(&relay, NULL, relay_main, NULL);
    pthread_create(&source, NULL, source_main, NULL);

    pthread_barrier_wait(&start_barrier);
    double machine0 = machine_busy();
    double process0 = process_cpu();
    double main0 = thread_cpu();
    clock_gettime(CLOCK_MONOTONIC, &t_go);

    pthread_join(sink, NULL);
    pthread_join(relay, NULL);
    pthread_join(source, NULL);
    double process_total = process_cpu() - process0;
    double main_cpu = thread_cpu() - main0;
    double machine_cpu = machine_busy() - machine0;

    double wall = seconds_between(t_go, t_done);
    double gb = total_bytes / 1e9;
    double iowq = process_total - source_cpu - sink_cpu - relay_cpu - main_cpu;
    if (iowq < 0) iowq = 0; /* rounding between the clocks */
    int ok = sink_received == total_bytes && relay_moved == total_bytes;
    printf("mech=%c proto=%s transport=%s/%s bytes=%llu ok=%d wall_s=%.3f gbps=%.2f "
           "relay_thread_cpu=%.3f iowq_cpu=%.3f source_cpu=%.3f sink_cpu=%.3f "
           "machine_cpu=%.2f relay_thread_cpu_per_gb=%.4f relay_cpu_per_gb=%.4f ops=%llu short=%llu eagain=%llu\n",
           mechanism, protocol_name, transport_a, transport_b, (unsigned long long)total_bytes, ok,
           wall, total_bytes * 8 / wall / 1e9, relay_cpu, iowq, source_cpu, sink_cpu, machine_cpu, relay_cpu / gb,
           (relay_cpu + iowq) / gb, (unsigned long long)stat_ops, (unsigned long long)stat_short,
           (unsigned long long)stat_eagain);
    if (!ok) {
        fprintf(stderr, "splice_bench: byte count mismatch: sent %llu, relayed %llu, received %llu\n",
                (unsigned long long)total_bytes, (unsigned long long)relay_moved, (unsigned long long)sink_received);
        return 1;
    }
    if (strcmp(transport_a, "tcp-fallback") == 0 || strcmp(transport_b, "tcp-fallback") == 0) {
        fprintf(stderr, "splice_bench: MPTCP requested but a connection fell back to TCP\n");
        return 1;
    }
    return 0;
}

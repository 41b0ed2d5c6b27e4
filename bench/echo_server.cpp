// bench_echo_server — sends every datagram back to its source, in batches of recvmmsg/sendmmsg.
// The ceiling of this machine for a one-core UDP request/reply server: the rendezvous server is
// measured against it (docs/PERFORMANCE.md).
// Usage: bench_echo_server [PORT]   (0 or none: an ephemeral port, printed on stderr)
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "udp_batch.hpp"

namespace {

constexpr unsigned kBatch = 64;          // datagrams per system call
constexpr std::size_t kSlotSize = 2048;  // bytes: benchmark datagrams are under 100

volatile std::sig_atomic_t g_stop = 0;
extern "C" void on_stop(int) {
    g_stop = 1;
}

}  // namespace

int main(int argc, char** argv) {
    const auto port = static_cast<std::uint16_t>(argc > 1 ? std::atoi(argv[1]) : 0);
    const int fd = bench::bound_socket(port, false);
    // No SA_RESTART: a signal ends the blocking recvmmsg with EINTR.
    struct sigaction sa {};
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    std::fprintf(stderr, "echo_server: listening on 127.0.0.1:%u\n", bench::local_port(fd));

    static std::array<std::array<char, kSlotSize>, kBatch> slots;
    std::array<sockaddr_in, kBatch> from{};
    std::array<iovec, kBatch> iov{};
    std::array<mmsghdr, kBatch> msgs{};
    std::uint64_t echoed = 0;
    while (g_stop == 0) {
        for (unsigned i = 0; i < kBatch; ++i) {
            iov[i] = {slots[i].data(), kSlotSize};
            msgs[i].msg_hdr = {};
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof from[i];
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        const int n = ::recvmmsg(fd, msgs.data(), kBatch, MSG_WAITFORONE, nullptr);
        if (n <= 0) continue;  // EINTR on a signal
        for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i)
            iov[i].iov_len = msgs[i].msg_len;
        int done = 0;
        while (done < n) {
            const int sent = ::sendmmsg(fd, msgs.data() + done, static_cast<unsigned>(n - done), 0);
            if (sent <= 0) break;  // a full send buffer: drop the rest, as a server would
            done += sent;
        }
        echoed += static_cast<std::uint64_t>(done);
    }
    std::fprintf(stderr, "echo_server: echoed %llu datagrams\n",
                 static_cast<unsigned long long>(echoed));
    ::close(fd);
    return 0;
}

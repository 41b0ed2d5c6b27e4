// natlab_delay — a wire delay for the NAT lab (tests/natlab/lab.sh, NL_DELAY_MS): this kernel has
// no netem, so an iptables rule hands the router's forwarded packets to an NFQUEUE and this
// program gives each its ACCEPT verdict a fixed time after it arrived.
//
// Usage: natlab_delay --queue N --delay-ms MS
//
// Packets are held in a FIFO of (packet id, due time), not by sleeping per packet: the delay is
// the same for every packet, so the FIFO is ordered by due time and the packets leave in the
// order they came, however many are in flight. Verdicts are issued by packet id, after receipt.
// Prints "ready" on stdout once bound to the queue. On SIGTERM/SIGINT it accepts what it holds
// and exits 0. The rule should carry --queue-bypass, so traffic passes if this program is gone.
// glibc's <netinet/in.h> (via <arpa/inet.h>) before the kernel's headers, which then step aside.
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>

namespace {

using Clock = std::chrono::steady_clock;

struct Held {
    std::uint32_t id;
    Clock::time_point due;
};

struct State {
    std::deque<Held> held;
    std::chrono::microseconds delay{};
};

volatile sig_atomic_t g_stop = 0;

void on_signal(int) {
    g_stop = 1;
}

int on_packet(nfq_q_handle*, nfgenmsg*, nfq_data* data, void* arg) {
    auto* state = static_cast<State*>(arg);
    const nfqnl_msg_packet_hdr* header = nfq_get_msg_packet_hdr(data);
    if (header == nullptr) return 0;
    state->held.push_back({ntohl(header->packet_id), Clock::now() + state->delay});
    return 0;
}

// Accepts every held packet that is due (all of them when `all`); returns false on a failure.
bool release(nfq_q_handle* queue, State& state, bool all) {
    const auto now = Clock::now();
    while (!state.held.empty() && (all || state.held.front().due <= now)) {
        if (nfq_set_verdict(queue, state.held.front().id, NF_ACCEPT, 0, nullptr) < 0) {
            std::fprintf(stderr, "natlab_delay: verdict for packet %u: %s\n", state.held.front().id,
                         std::strerror(errno));
            return false;
        }
        state.held.pop_front();
    }
    return true;
}

int usage() {
    std::fprintf(stderr, "usage: natlab_delay --queue N --delay-ms MS\n");
    return 2;
}

bool parse_number(std::string_view text, long max, long& out) {
    if (text.empty()) return false;
    char* end = nullptr;
    const std::string copy(text);
    errno = 0;
    const long value = std::strtol(copy.c_str(), &end, 10);
    if (errno != 0 || *end != '\0' || value < 0 || value > max) return false;
    out = value;
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    long queue_number = -1;
    long delay_ms = -1;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg(argv[i]);
        if (i + 1 >= argc) return usage();
        const std::string_view value(argv[++i]);
        if (arg == "--queue") {
            if (!parse_number(value, 65535, queue_number)) return usage();
        } else if (arg == "--delay-ms") {
            if (!parse_number(value, 60000, delay_ms)) return usage();
        } else {
            return usage();
        }
    }
    if (queue_number < 0 || delay_ms < 0) return usage();

    State state;
    state.delay = std::chrono::milliseconds(delay_ms);

    struct sigaction action {};
    action.sa_handler = on_signal;
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);

    nfq_handle* handle = nfq_open();
    if (handle == nullptr) {
        std::fprintf(stderr, "natlab_delay: nfq_open: %s\n", std::strerror(errno));
        return 1;
    }
    nfq_q_handle* queue =
        nfq_create_queue(handle, static_cast<std::uint16_t>(queue_number), &on_packet, &state);
    if (queue == nullptr) {
        std::fprintf(stderr, "natlab_delay: cannot bind queue %ld: %s\n", queue_number,
                     std::strerror(errno));
        nfq_close(handle);
        return 1;
    }
    // Only the metadata (the packet id): the verdict needs no payload.
    if (nfq_set_mode(queue, NFQNL_COPY_META, 0) < 0 || nfq_set_queue_maxlen(queue, 65536) < 0) {
        std::fprintf(stderr, "natlab_delay: cannot configure queue %ld\n", queue_number);
        nfq_destroy_queue(queue);
        nfq_close(handle);
        return 1;
    }
    // A full queue accepts at once rather than dropping (the lab's loss is its own option).
    nfq_set_queue_flags(queue, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
    const int fd = nfq_fd(handle);
    const int buffer = 4 * 1024 * 1024;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, sizeof buffer);

    std::printf("ready\n");
    std::fflush(stdout);

    int status = 0;
    alignas(8) static char packet[65536];
    while (g_stop == 0) {
        int timeout_ms = -1;
        if (!state.held.empty()) {
            const auto wait =
                std::chrono::ceil<std::chrono::milliseconds>(state.held.front().due - Clock::now());
            timeout_ms = wait.count() < 0 ? 0 : static_cast<int>(wait.count());
        }
        pollfd pfd{fd, POLLIN, 0};
        const int ready = poll(&pfd, 1, timeout_ms);
        if (ready < 0 && errno != EINTR) {
            std::fprintf(stderr, "natlab_delay: poll: %s\n", std::strerror(errno));
            status = 1;
            break;
        }
        if (ready > 0) {
            // Drain what is there without blocking.
            for (;;) {
                const ssize_t n = recv(fd, packet, sizeof packet, MSG_DONTWAIT);
                if (n < 0) {
                    if (errno == ENOBUFS) {
                        std::fprintf(stderr, "natlab_delay: receive buffer overrun\n");
                        continue;
                    }
                    break;
                }
                nfq_handle_packet(handle, packet, static_cast<int>(n));
            }
        }
        if (!release(queue, state, false)) {
            status = 1;
            break;
        }
    }
    release(queue, state, true);
    nfq_destroy_queue(queue);
    nfq_close(handle);
    return status;
}

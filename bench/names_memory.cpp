// bench_names_memory — resident memory of one million names in the rendezvous server.
//
// Registers names straight through Server::handle (the full path a Register takes, without a
// socket), each from its own address and its own client run (netcore's SignalChannel: a Hello, the
// Challenge, then the sealed Register, which costs the server an X25519), and prints how much the
// resident set grew over the process before the server existed (/proc/self/statm). Each entry
// keeps the client's keys and its last counter (registry.hpp). Goal: at most 200 MB for 1 000 000.
// Usage: bench_names_memory [COUNT] [NAME_LENGTH]   (defaults 1000000, 16; length 1 to 32)
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "netcore/protocol.hpp"
#include "outbox.hpp"
#include "server.hpp"
#include "signal_channel.hpp"

namespace protocol = netcore::protocol;

namespace {

// Resident set size in bytes, from the second field of /proc/self/statm (in pages).
std::uint64_t resident_bytes() {
    std::ifstream statm("/proc/self/statm");
    std::uint64_t size = 0;
    std::uint64_t resident = 0;
    statm >> size >> resident;
    return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

// A name of exactly `length` characters, unique for `i` (digits at the end, 'n' padding).
std::string name_of(std::uint32_t i, std::size_t length) {
    std::string digits = std::to_string(i);
    if (digits.size() >= length) return digits.substr(digits.size() - length);
    return std::string(length - digits.size(), 'n') + digits;
}

}  // namespace

int main(int argc, char** argv) {
    const std::uint32_t count = argc > 1 ? static_cast<std::uint32_t>(std::atol(argv[1])) : 1000000;
    const std::size_t length = argc > 2 ? static_cast<std::size_t>(std::atoi(argv[2])) : 16;
    if (count < 1 || length < 7 || length > protocol::kMaxNameLength) {
        std::fprintf(stderr, "bench_names_memory: need COUNT >= 1 and 7 <= NAME_LENGTH <= 32\n");
        return 2;
    }
    const std::uint64_t baseline = resident_bytes();
    {
        rendezvous::Config config;
        config.max_names = count;
        config.expiry = std::chrono::hours(1);  // nothing expires during the run
        rendezvous::Server server(
            config, rendezvous::Log(rendezvous::LogLevel::error, rendezvous::stderr_sink()));
        rendezvous::Outbox out;
        std::array<std::uint8_t, protocol::kMaxDatagramSize> datagram{};
        const auto now = rendezvous::Clock::now();
        const auto started = std::chrono::steady_clock::now();
        for (std::uint32_t i = 0; i < count; ++i) {
            const std::string name = name_of(i, length);
            // Every client behind its own address: 10.0.0.0/8, one port each.
            const netcore::Address from{0x0A000000U + (i >> 4),
                                        static_cast<std::uint16_t>(40000 + (i & 15))};
            // As a client does: a Hello earns a Challenge (the server's key, salt and a cookie
            // for this address); then the Register, sealed with the cookie in its head. The
            // channel lives only for this name: the client's memory is not the server's.
            netcore::detail::SignalChannel client(server.public_key());
            out.clear();
            server.handle({datagram.data(), client.hello(datagram)}, from, now, out);
            protocol::Envelope challenge;
            if (out.size() != 1 ||
                protocol::decode_envelope(out.datagrams()[0].view(), challenge) !=
                    protocol::DecodeError::ok ||
                client.on_challenge(challenge, true) !=
                    netcore::detail::SignalChannel::ChallengeOutcome::new_salt) {
                std::fprintf(stderr, "bench_names_memory: no Challenge for name %u\n", i);
                return 1;
            }
            const protocol::RegisterRequest request{i + 1ULL, name, {}};
            out.clear();
            server.handle({datagram.data(), client.seal(request, datagram)}, from, now, out);
        }
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        const auto c = server.counters();
        const std::uint64_t resident = resident_bytes();
        const double grown_mb = static_cast<double>(resident - baseline) / (1024.0 * 1024.0);
        std::printf(
            "names_memory: names=%llu name_length=%zu baseline_mb=%.1f resident_mb=%.1f "
            "grown_mb=%.1f bytes_per_name=%.0f register_per_s=%.0f longest_probe=%llu "
            "goal_mb=200 %s\n",
            static_cast<unsigned long long>(c.names), length,
            static_cast<double>(baseline) / (1024.0 * 1024.0),
            static_cast<double>(resident) / (1024.0 * 1024.0), grown_mb,
            static_cast<double>(resident - baseline) / static_cast<double>(count),
            static_cast<double>(count) / seconds, static_cast<unsigned long long>(c.longest_probe),
            grown_mb <= 200.0 * count / 1000000.0 ? "ok" : "OVER");
        if (c.names != count) {
            std::fprintf(stderr, "bench_names_memory: only %llu of %u names registered\n",
                         static_cast<unsigned long long>(c.names), count);
            return 1;
        }
    }
    return 0;
}

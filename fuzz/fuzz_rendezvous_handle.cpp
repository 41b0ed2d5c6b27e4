// Fuzzes rendezvous::Server::handle and tick: a few clients send arbitrary datagrams while time
// moves on. The input is a sequence of records:
//   [sender (1 byte): low 2 bits pick one of 4 addresses, the rest steps time by 0..63 * 250 ms]
//   [length (1 byte)] [datagram (length bytes, fewer if the input ends)]
// Small limits (2 names, short timers) so full tables, expiry and moves are reached quickly.
// Besides the sanitizers, it checks that the table never exceeds its cap and that everything the
// server sends decodes (ours) or is a STUN response of at most kMaxResponseSize bytes.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "server.hpp"

namespace {

constexpr std::array<netcore::Address, 4> kSenders = {{
    {0xCB007107u, 5000},  // 203.0.113.7:5000
    {0xCB007107u, 5001},  // the same host, another port (a NAT rebinding)
    {0xC6336409u, 6000},  // 198.51.100.9:6000
    {0x7F000001u, 7777},  // 127.0.0.1:7777
}};

constexpr std::size_t kMaxNames = 2;

rendezvous::Config small_config() {
    rendezvous::Config c;
    c.refresh = std::chrono::milliseconds(1000);
    c.expiry = std::chrono::milliseconds(3000);
    c.max_names = kMaxNames;
    c.intro_ttl = std::chrono::milliseconds(2000);
    c.sweep_interval = std::chrono::milliseconds(500);
    // The per-IP limits would drop most of an input before it reaches the decoder.
    c.limits.rate = c.limits.burst = 1e9;
    c.limits.answer_rate = c.limits.answer_burst = 1e9;
    return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Logging formats every line (debug included) into a sink that drops it, to fuzz that too.
    rendezvous::Server server(small_config(), rendezvous::Log(rendezvous::LogLevel::debug,
                                                              [](auto, std::string_view) {}));
    rendezvous::Outbox out;
    rendezvous::TimePoint now{};
    std::size_t at = 0;
    while (at + 2 <= size) {
        const std::uint8_t sender = data[at];
        const std::size_t length = data[at + 1];
        at += 2;
        const std::size_t n = length < size - at ? length : size - at;
        now += std::chrono::milliseconds(250) * (sender >> 2);
        out.clear();
        server.handle(std::span<const std::uint8_t>(data + at, n), kSenders[sender & 3], now, out);
        server.tick(now);
        at += n;
        for (const auto& d : out.datagrams()) {
            netcore::protocol::Message m;
            const bool ours = netcore::protocol::has_magic(d.view());
            if (ours &&
                netcore::protocol::decode(d.view(), m) != netcore::protocol::DecodeError::ok)
                std::abort();  // the server sent something it could not decode itself
            if (!ours && d.size > rendezvous::stun::kMaxResponseSize) std::abort();
        }
        if (server.counters().names > kMaxNames) std::abort();
    }
    return 0;
}

// Fuzzes rendezvous::Server::handle and tick: a few clients send arbitrary datagrams while time
// moves on, and one real client (netcore's SignalChannel, pinned to the server's key) sends
// Hellos and sealed signals of the fuzzer's choosing, whole or mutated, so the fuzzer gets past
// the box to the signal decoder, the registry and the introductions. The input is a sequence of
// records:
//   [sender (1 byte): low 2 bits pick one of 4 addresses, the rest steps time by 0..63 * 250 ms]
//   [op (1 byte): low 2 bits say what the payload is, see Op; the rest is a mutation's position]
//   [length (1 byte)] [payload (length bytes, fewer if the input ends)]
// Small limits (2 names, short timers) so full tables, expiry and moves are reached quickly.
// Besides the sanitizers, it checks that the table never exceeds its cap, that everything the
// server sends is a valid envelope of ours or a STUN response of at most kMaxResponseSize bytes,
// and that what it seals for the client opens and decodes (never a replayed counter).
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "server.hpp"
#include "signal_channel.hpp"

namespace {

namespace protocol = netcore::protocol;
using netcore::detail::SignalChannel;

constexpr std::array<netcore::Address, 4> kSenders = {{
    {0xCB007107u, 5000},  // 203.0.113.7:5000
    {0xCB007107u, 5001},  // the same host, another port (a NAT rebinding)
    {0xC6336409u, 6000},  // 198.51.100.9:6000
    {0x7F000001u, 7777},  // 127.0.0.1:7777
}};

constexpr std::size_t kMaxNames = 2;

enum Op : std::uint8_t {
    raw = 0,          ///< the payload is the datagram
    hello = 1,        ///< the client's Hello (the payload is ignored)
    sealed = 2,       ///< the payload is a plaintext (type byte and body), sealed by the client
    sealed_flip = 3,  ///< as sealed, then one byte of the datagram (the op's high bits) flipped
};

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

// The client's plaintext sealed as a client_sealed datagram, with the channel's key and cookie.
// seal() takes a Message, so the plaintext is decoded first; one that does not decode is not sent
// (0): the raw op reaches the decoders' failures.
std::size_t seal(SignalChannel& channel, std::span<const std::uint8_t> plaintext,
                 std::span<std::uint8_t> out) {
    protocol::Message m;
    if (protocol::decode_inner(plaintext, m) != protocol::DecodeError::ok) return 0;
    return channel.seal(m, out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Logging formats every line (debug included) into a sink that drops it, to fuzz that too.
    rendezvous::Server server(small_config(), rendezvous::Log(rendezvous::LogLevel::debug,
                                                              [](auto, std::string_view) {}));
    SignalChannel client(server.public_key());
    rendezvous::Outbox out;
    rendezvous::TimePoint now{};
    std::array<std::uint8_t, protocol::kMaxDatagramSize> buffer{};
    std::array<std::uint8_t, protocol::kMaxDatagramSize> scratch{};
    std::size_t at = 0;
    while (at + 3 <= size) {
        const std::uint8_t sender = data[at];
        const std::uint8_t op = data[at + 1];
        const std::size_t length = data[at + 2];
        at += 3;
        const std::size_t n = length < size - at ? length : size - at;
        const std::span<const std::uint8_t> payload(data + at, n);
        at += n;
        const netcore::Address from = kSenders[sender & 3];
        now += std::chrono::milliseconds(250) * (sender >> 2);

        std::span<const std::uint8_t> datagram = payload;
        switch (static_cast<Op>(op & 3)) {
            case raw:
                break;
            case hello:
                datagram = {buffer.data(), client.hello(buffer)};
                break;
            case sealed:
            case sealed_flip: {
                const std::size_t sealed_size = seal(client, payload, buffer);
                if (sealed_size == 0) continue;  // not keyed yet, or not a Message
                if ((op & 3) == sealed_flip) buffer[(op >> 2) % sealed_size] ^= 0xA5;
                datagram = {buffer.data(), sealed_size};
                break;
            }
        }
        out.clear();
        server.handle(datagram, from, now, out);
        server.tick(now, out);  // its party pushes are checked with the answers
        for (const auto& d : out.datagrams()) {
            const bool ours = protocol::has_magic(d.view());
            if (!ours) {
                if (d.size > rendezvous::stun::kMaxResponseSize) std::abort();
                continue;
            }
            protocol::Envelope e;
            if (protocol::decode_envelope(d.view(), e) != protocol::DecodeError::ok)
                std::abort();  // the server sent something it could not decode itself
            if (e.type == protocol::EnvelopeType::challenge) {
                // The client takes every Challenge: a new salt (its first) or a new cookie.
                (void)client.on_challenge(e, true);
            } else if (e.type == protocol::EnvelopeType::server_sealed) {
                protocol::Message m;
                const auto opened = client.open(e, scratch, m);
                // Sealed for another key (a raw datagram's): unauthenticated. Never a counter
                // seen before, and never a plaintext the server's own decoder refuses.
                if (opened == SignalChannel::OpenError::replayed ||
                    opened == SignalChannel::OpenError::malformed)
                    std::abort();
            }
        }
        if (server.counters().names > kMaxNames) std::abort();
    }
    return 0;
}

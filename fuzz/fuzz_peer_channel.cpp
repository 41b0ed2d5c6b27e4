// Fuzzes a PeerChannel's receiving end: the input is one datagram from the network, given to
// protocol::decode_envelope and then (a peer_probe) to open_probe or (a peer_data) to open_data,
// at both ends of a fixed pair of channels that completed their handshake. Nothing may crash,
// and nothing may open: the fuzzer does not hold the introduction's keys, so a datagram it made
// that opens is a forgery the channel let through (abort).
//
// The pair's run keys come from fixed secrets, so probe keys are the same in every run (seeds
// must not hold a probe sealed under them: fuzz_seeds writes probes of another introduction).
// Data keys also depend on each session's random nonce.
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "crypto.hpp"
#include "netcore/protocol.hpp"
#include "peer_channel.hpp"

namespace {

namespace protocol = netcore::protocol;
namespace crypto = netcore::crypto;
using netcore::detail::PeerChannel;

constexpr std::uint64_t kToken = 0x0123456789ABCDEFull;

crypto::KeyPair fixed_keys(std::uint8_t seed) {
    crypto::KeyPair k;
    for (std::size_t i = 0; i < k.secret_key.size(); ++i)
        k.secret_key[i] = static_cast<std::uint8_t>(seed + 7 * i);
    k.public_key = crypto::public_key_of(k.secret_key);
    return k;
}

// Seals with `from`, opens at `to`; aborts unless it opens (the set-up must work).
void deliver_probe(PeerChannel& from, PeerChannel& to, const protocol::Message& m) {
    std::array<std::uint8_t, protocol::kMaxDatagramSize> buf{};
    const auto n = from.seal_probe(m, buf);
    protocol::Envelope e;
    if (n == 0 ||
        protocol::decode_envelope(std::span(buf.data(), n), e) != protocol::DecodeError::ok)
        std::abort();
    std::array<std::uint8_t, protocol::kMaxDatagramSize> scratch{};
    protocol::Message out;
    if (to.open_probe(e, scratch, out) != PeerChannel::Drop::none) std::abort();
}

struct Pair {
    PeerChannel alice;  // the initiator
    PeerChannel bob;

    Pair() {
        const auto a = fixed_keys(0x11);
        const auto b = fixed_keys(0x22);
        protocol::Introduction to_alice;
        to_alice.token = kToken;
        to_alice.role = protocol::Role::initiator;
        to_alice.peer = "bob";
        to_alice.peer_public = {0xCB007116u, 40000};
        to_alice.peer_key = b.public_key;
        protocol::Introduction to_bob = to_alice;
        to_bob.role = protocol::Role::responder;
        to_bob.peer = "alice";
        to_bob.peer_public = {0xC6336401u, 5000};
        to_bob.peer_key = a.public_key;
        if (!alice.begin(a, "alice", to_alice) || !bob.begin(b, "bob", to_bob)) std::abort();
        // Both ways: probe, then acknowledgement. Both confirmed, data keys ready.
        deliver_probe(alice, bob, protocol::Probe{kToken, 1});
        deliver_probe(bob, alice, protocol::ProbeAck{kToken, 1, {0xC6336401u, 5000}});
        deliver_probe(bob, alice, protocol::Probe{kToken, 1});
        deliver_probe(alice, bob, protocol::ProbeAck{kToken, 1, {0xCB007116u, 40000}});
        if (!alice.confirmed() || !bob.confirmed()) std::abort();
    }
};

void receive(PeerChannel& at, std::span<const std::uint8_t> datagram) {
    // A writable copy: data opens in place, as in ENet's buffer.
    std::vector<std::uint8_t> copy(datagram.begin(), datagram.end());
    protocol::Envelope e;
    if (protocol::decode_envelope(copy, e) != protocol::DecodeError::ok) return;
    if (e.type == protocol::EnvelopeType::peer_probe) {
        std::array<std::uint8_t, protocol::kMaxDatagramSize> scratch{};
        protocol::Message m;
        // Not only none: stale and malformed also mean the box opened.
        if (at.open_probe(e, scratch, m) != PeerChannel::Drop::unauthenticated) std::abort();
    } else if (e.type == protocol::EnvelopeType::peer_data) {
        const std::span<std::uint8_t> box(copy.data() + e.ad.size(), e.box.size());
        std::span<const std::uint8_t> plain;
        if (at.open_data(e, box, plain) == PeerChannel::Drop::none) std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static Pair pair;  // nothing the fuzzer sends can change it: nothing of it opens
    const std::span<const std::uint8_t> in(data, size);
    receive(pair.bob, in);
    receive(pair.alice, in);
    return 0;
}

// Fuzzes the wire version 2 decoders: protocol::decode_envelope (what the wire carries) and
// protocol::decode_inner (what an opened box holds), each on the whole input. Neither may crash
// or read out of bounds, and what they accept must encode back to the very same bytes: a clear
// envelope whole, a sealed one's head (its box is the rest of the datagram), an inner message
// whole (the format has one encoding per message).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>

#include "netcore/protocol.hpp"

namespace {

namespace protocol = netcore::protocol;

bool same(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size()) == 0;
}

void check_envelope(std::span<const std::uint8_t> in) {
    protocol::Envelope e;
    if (protocol::decode_envelope(in, e) != protocol::DecodeError::ok) return;
    if (protocol::wire_version(in) != protocol::kVersion) std::abort();
    std::array<std::uint8_t, protocol::kMaxDatagramSize> out{};
    std::size_t n = 0;
    switch (e.type) {
        case protocol::EnvelopeType::hello:
            n = protocol::encode_hello(e.client_key, out);
            break;
        case protocol::EnvelopeType::challenge:
            n = protocol::encode_challenge(e.server_key, e.salt, e.cookie, out);
            break;
        case protocol::EnvelopeType::version_refused:
            // This build only ever writes its own version range.
            if (e.min_version != protocol::kVersion || e.max_version != protocol::kVersion) return;
            n = protocol::encode_version_refused(out);
            break;
        case protocol::EnvelopeType::client_sealed:
            n = protocol::encode_client_sealed_head(e.client_key, e.cookie, e.counter, out);
            break;
        case protocol::EnvelopeType::server_sealed:
            n = protocol::encode_server_sealed_head(e.counter, out);
            break;
        case protocol::EnvelopeType::peer_probe:
            n = protocol::encode_probe_head(e.probe_nonce, out);
            break;
        case protocol::EnvelopeType::peer_data:
            n = protocol::encode_data_head(e.channel, e.counter, out);
            break;
        default:
            std::abort();  // decode_envelope accepted a type it does not know
    }
    const std::span<const std::uint8_t> encoded(out.data(), n);
    if (e.box.empty()) {
        if (!e.ad.empty() || !same(encoded, in)) std::abort();  // no round trip
        return;
    }
    // A sealed envelope: ad is its head, the box the rest, at least a tag of it.
    if (!same(encoded, e.ad) || e.ad.data() != in.data()) std::abort();
    if (e.box.data() != in.data() + e.ad.size() || e.ad.size() + e.box.size() != in.size())
        std::abort();
    if (e.box.size() < protocol::kTagSize) std::abort();
}

void check_inner(std::span<const std::uint8_t> in) {
    protocol::Message m;
    if (protocol::decode_inner(in, m) != protocol::DecodeError::ok) return;
    std::array<std::uint8_t, protocol::kMaxDatagramSize> out{};
    const auto n = protocol::encode_inner(m, out);
    if (!same(std::span(out.data(), n), in)) std::abort();  // no round trip
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> in(data, size);
    check_envelope(in);
    check_inner(in);
    return 0;
}

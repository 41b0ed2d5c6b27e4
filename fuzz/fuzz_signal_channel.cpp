// Fuzzes a client's SignalChannel: the input is a sequence of datagrams "from the server",
// each given to protocol::decode_envelope and then (a Challenge) to on_challenge or (a
// server_sealed) to open. Nothing may crash; a Challenge may rekey the channel (it is clear),
// but sealing must keep working, and no server_sealed may open: the signal key needs the
// client's secret, which the fuzzer never sees (an open, even a malformed one, aborts).
//
// The input is records of [flags][length][datagram]: flags bit 0 is on_challenge's
// accept_salt. Each input starts from the same channel, pinned to a fixed server key and keyed
// by a Challenge with a fixed salt (its own key pair is random per process).
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "crypto.hpp"
#include "netcore/protocol.hpp"
#include "signal_channel.hpp"

namespace {

namespace protocol = netcore::protocol;
namespace crypto = netcore::crypto;
using netcore::detail::SignalChannel;

netcore::PublicKey server_key() {
    netcore::SecretKey secret{};
    for (std::size_t i = 0; i < secret.size(); ++i)
        secret[i] = static_cast<std::uint8_t>(0x5E + 3 * i);
    return crypto::public_key_of(secret);
}

SignalChannel keyed_channel() {
    SignalChannel c(server_key());
    std::array<std::uint8_t, protocol::kChallengeSize> challenge{};
    protocol::Salt salt{};
    salt.fill(0x5A);
    protocol::Cookie cookie{};
    cookie.fill(0xC0);
    protocol::Envelope e;
    if (protocol::encode_challenge(server_key(), salt, cookie, challenge) == 0 ||
        protocol::decode_envelope(challenge, e) != protocol::DecodeError::ok ||
        c.on_challenge(e, false) != SignalChannel::ChallengeOutcome::new_salt)
        std::abort();
    return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const SignalChannel base = keyed_channel();
    SignalChannel client = base;
    std::span<const std::uint8_t> in(data, size);
    while (in.size() >= 2) {
        const bool accept_salt = (in[0] & 1) != 0;
        const std::size_t len = std::min<std::size_t>(in[1], in.size() - 2);
        const auto datagram = in.subspan(2, len);
        in = in.subspan(2 + len);

        protocol::Envelope e;
        if (protocol::decode_envelope(datagram, e) != protocol::DecodeError::ok) continue;
        if (e.type == protocol::EnvelopeType::challenge) {
            client.on_challenge(e, accept_salt);
            if (!client.keyed() || !client.server_key() || *client.server_key() != server_key())
                std::abort();  // a Challenge moved the pinned key, or unkeyed the channel
            std::array<std::uint8_t, protocol::kMaxDatagramSize> out{};
            if (client.seal(protocol::Unregister{1}, out) == 0) std::abort();
        } else if (e.type == protocol::EnvelopeType::server_sealed) {
            std::array<std::uint8_t, protocol::kMaxDatagramSize> scratch{};
            protocol::Message m;
            const auto result = client.open(e, scratch, m);
            if (result != SignalChannel::OpenError::unauthenticated &&
                result != SignalChannel::OpenError::replayed)
                std::abort();
        }
    }
    return 0;
}

#include "peer_channel.hpp"

#include <cstring>

namespace netcore::detail {

using namespace protocol;

namespace {

void put_u32(std::uint8_t* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) p[i] = static_cast<std::uint8_t>(v >> (24 - 8 * i));
}
std::uint32_t get_u32(const std::uint8_t* p) {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           p[3];
}

}  // namespace

bool PeerChannel::begin(const crypto::KeyPair& me, std::string_view my_name,
                        const Introduction& intro, const crypto::SymmetricKey* identity) {
    active_ = false;
    crypto::SymmetricKey shared{};
    if (!crypto::agree(me.secret_key, intro.peer_key, shared)) return false;
    role_ = intro.role;
    const bool initiator = role_ == Role::initiator;
    introduction_ = initiator ? crypto::introduction_key(shared, intro.token, my_name,
                                                         me.public_key, intro.peer, intro.peer_key)
                              : crypto::introduction_key(shared, intro.token, intro.peer,
                                                         intro.peer_key, my_name, me.public_key);
    if (identity != nullptr)
        introduction_ = crypto::derive(introduction_, "netcore v2 identity", {*identity});
    const auto keys = crypto::probe_keys(introduction_);
    tag_ = crypto::probe_tag(introduction_);
    probe_send_ = initiator ? keys.initiator_to_responder : keys.responder_to_initiator;
    probe_receive_ = initiator ? keys.responder_to_initiator : keys.initiator_to_responder;
    crypto::random_bytes(nonce_);
    do {
        channel_ = static_cast<std::uint32_t>(crypto::random_u64());
    } while (channel_ == 0);
    peer_nonce_ = {};
    echo_ = {};
    peer_channel_ = 0;
    data_ready_ = false;
    confirmed_ = false;
    sent_ = 0;
    window_ = {};
    active_ = true;
    return true;
}

void PeerChannel::learn(const PeerNonce& nonce, std::uint32_t channel) {
    if (data_ready_ && crypto::equal(nonce, peer_nonce_) && channel == peer_channel_) return;
    peer_nonce_ = nonce;
    peer_channel_ = channel;
    const bool initiator = role_ == Role::initiator;
    const auto keys = initiator ? crypto::data_keys(introduction_, nonce_, peer_nonce_)
                                : crypto::data_keys(introduction_, peer_nonce_, nonce_);
    data_send_ = initiator ? keys.initiator_to_responder : keys.responder_to_initiator;
    data_receive_ = initiator ? keys.responder_to_initiator : keys.initiator_to_responder;
    data_ready_ = true;
    window_ = {};  // sent_ goes on: these keys may be ones we sealed under before (see .hpp)
}

std::size_t PeerChannel::seal_probe(const Message& message, std::span<std::uint8_t> out) {
    if (!active_) return 0;
    std::array<std::uint8_t, kProbeNonceSize> xnonce{};
    // The tag, then 20 random bytes: random nonces because the same introduction may be acted
    // on by more than one session (§11.3); 160 bits keep them from repeating.
    put_u32(xnonce.data(), tag_);
    crypto::random_bytes(std::span(xnonce).subspan(4));
    const std::size_t head = encode_probe_head(xnonce, out);
    if (head == 0) return 0;
    // The preamble (§4.8): our channel, our nonce, and (in an acknowledgement) the nonce of
    // the probe it answers.
    std::array<std::uint8_t, kProbePreamble + 32 + kMaxProbeConnect> plain{};
    put_u32(plain.data(), channel_);
    std::memcpy(plain.data() + 4, nonce_.data(), nonce_.size());
    if (std::holds_alternative<ProbeAck>(message))
        std::memcpy(plain.data() + 4 + kPeerNonceSize, echo_.data(), echo_.size());
    const std::size_t n = encode_inner(message, std::span(plain).subspan(kProbePreamble));
    if (n == 0) return 0;
    const std::size_t box =
        crypto::seal_x(probe_send_, xnonce, out.first(head),
                       std::span(plain.data(), kProbePreamble + n), out.subspan(head));
    return box == 0 ? 0 : head + box;
}

PeerChannel::Drop PeerChannel::open_probe(const Envelope& sealed, std::span<std::uint8_t> scratch,
                                          Message& out) {
    if (!active_) return Drop::unauthenticated;
    const auto n =
        crypto::open_x(probe_receive_, sealed.probe_nonce, sealed.ad, sealed.box, scratch);
    if (n < 0) return Drop::unauthenticated;
    const auto plain = scratch.first(static_cast<std::size_t>(n));
    if (plain.size() < kProbePreamble) return Drop::malformed;
    Message message;
    if (decode_inner(plain.subspan(kProbePreamble), message) != DecodeError::ok)
        return Drop::malformed;
    const bool ack = std::holds_alternative<ProbeAck>(message);
    if (!ack && !std::holds_alternative<Probe>(message)) return Drop::malformed;
    const std::uint32_t channel = get_u32(plain.data());
    PeerNonce nonce{};
    std::memcpy(nonce.data(), plain.data() + 4, nonce.size());
    if (ack) {
        // Only an acknowledgement of our own nonce is of this session: an old one replayed
        // (the same introduction may be acted on twice) echoes another.
        if (!crypto::equal(plain.subspan(4 + kPeerNonceSize, kPeerNonceSize), nonce_))
            return Drop::stale;
        if (confirmed_ && !crypto::equal(nonce, peer_nonce_)) return Drop::stale;
        learn(nonce, channel);
        confirmed_ = true;
    } else {
        // A probe may be a replay of an earlier session's: it may set the peer's nonce only
        // until one is confirmed.
        if (confirmed_ && !crypto::equal(nonce, peer_nonce_)) return Drop::stale;
        if (!confirmed_) learn(nonce, channel);
        echo_ = nonce;
    }
    out = message;
    return Drop::none;
}

std::size_t PeerChannel::seal_data(std::span<const std::uint8_t> enet,
                                   std::span<std::uint8_t> out) {
    if (!data_ready_) return 0;
    const std::uint64_t counter = ++sent_;
    const std::size_t head = encode_data_head(peer_channel_, counter, out);
    if (head == 0) return 0;
    const std::size_t box =
        crypto::seal(data_send_, 0, counter, out.first(head), enet, out.subspan(head));
    return box == 0 ? 0 : head + box;
}

PeerChannel::Drop PeerChannel::open_data(const Envelope& sealed, std::span<std::uint8_t> box,
                                         std::span<const std::uint8_t>& plain) {
    if (!active_ || !data_ready_) return Drop::not_ready;
    if (!window_.fresh(sealed.counter)) return Drop::replayed;
    const auto n = crypto::open(data_receive_, 0, sealed.counter, sealed.ad, box, box);
    if (n < 0) return Drop::unauthenticated;
    window_.accept(sealed.counter);
    confirmed_ = true;
    plain = box.first(static_cast<std::size_t>(n));
    return Drop::none;
}

}  // namespace netcore::detail

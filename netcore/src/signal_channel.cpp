#include "signal_channel.hpp"

namespace netcore::detail {

using namespace protocol;

SignalChannel::SignalChannel(std::optional<PublicKey> server_key)
    : keys_(crypto::generate_key_pair()), server_key_(server_key) {
    // A low-order key is no key: every Challenge will be ignored. (Not server_key_.reset():
    // that would trust whichever server answers first, the opposite of pinning.)
    if (server_key_ && !crypto::agree(keys_.secret_key, *server_key_, shared_)) unusable_ = true;
}

bool SignalChannel::resume(const PublicKey& server_key, const Salt& salt, const Cookie& cookie) {
    if (unusable_ || keyed_) return false;
    if (server_key_) {
        if (!crypto::equal(server_key, *server_key_)) return false;  // not the pinned server
    } else {
        if (!crypto::agree(keys_.secret_key, server_key, shared_)) return false;
        server_key_ = server_key;
        tentative_ = true;
    }
    salt_ = salt;
    key_ = crypto::signal_key(shared_, keys_.public_key, *server_key_, salt_);
    cookie_ = cookie;
    keyed_ = true;
    return true;
}

std::size_t SignalChannel::hello(std::span<std::uint8_t> out) const {
    return encode_hello(keys_.public_key, out);
}

SignalChannel::ChallengeOutcome SignalChannel::on_challenge(const Envelope& challenge,
                                                            bool accept_salt) {
    if (unusable_) return ChallengeOutcome::ignored;
    if (server_key_ && !tentative_) {
        // A pinned (or already learned) key: a Challenge naming another is not our server's.
        if (!crypto::equal(challenge.server_key, *server_key_)) return ChallengeOutcome::ignored;
    } else {
        // Trust on first use (§11.2): the first Challenge names the key for this run. A key from
        // an unpinned ticket is no more than a guess: another key in a Challenge replaces it,
        // exactly as a run without a ticket would have taken that Challenge's key.
        crypto::SymmetricKey shared{};
        if (!crypto::agree(keys_.secret_key, challenge.server_key, shared))
            return ChallengeOutcome::ignored;
        if (server_key_ && !crypto::equal(challenge.server_key, *server_key_))
            keyed_ = false;  // the ticket's salt belongs to another key: key anew below
        shared_ = shared;
        server_key_ = challenge.server_key;
        tentative_ = false;
    }
    const bool same_salt = keyed_ && crypto::equal(challenge.salt, salt_);
    if (!same_salt) {
        if (keyed_ && !accept_salt) return ChallengeOutcome::ignored;
        salt_ = challenge.salt;
        key_ = crypto::signal_key(shared_, keys_.public_key, *server_key_, salt_);
        keyed_ = true;
        // The replay window is kept across salts: a server's counters start from its clock
        // (§11.2), so a new run's are above the old run's, and an old run's datagrams replayed
        // under a salt that came back (a replayed Challenge) are still refused.
        cookie_ = challenge.cookie;
        return ChallengeOutcome::new_salt;
    }
    if (crypto::equal(challenge.cookie, cookie_)) return ChallengeOutcome::ignored;
    cookie_ = challenge.cookie;
    return ChallengeOutcome::new_cookie;
}

std::size_t SignalChannel::seal(const Message& message, std::span<std::uint8_t> out) {
    if (!keyed_) return 0;
    const std::uint64_t counter = ++sent_;
    const std::size_t head = encode_client_sealed_head(keys_.public_key, cookie_, counter, out);
    if (head == 0) return 0;
    std::array<std::uint8_t, kMaxDatagramSize> plain{};
    const std::size_t n = encode_inner(message, plain);
    if (n == 0) return 0;
    const std::size_t box = crypto::seal(key_, crypto::kFromClient, counter, out.first(head),
                                         std::span(plain.data(), n), out.subspan(head));
    return box == 0 ? 0 : head + box;
}

SignalChannel::OpenError SignalChannel::open(const Envelope& sealed,
                                             std::span<std::uint8_t> scratch, Message& out) {
    if (!keyed_ || sealed.type != EnvelopeType::server_sealed) return OpenError::unauthenticated;
    if (!window_.fresh(sealed.counter)) return OpenError::replayed;
    const auto n =
        crypto::open(key_, crypto::kFromServer, sealed.counter, sealed.ad, sealed.box, scratch);
    if (n < 0) return OpenError::unauthenticated;
    window_.accept(sealed.counter);
    tentative_ = false;  // the server holds the secret of the key we used: it is confirmed
    if (decode_inner(scratch.first(static_cast<std::size_t>(n)), out) != DecodeError::ok)
        return OpenError::malformed;
    return OpenError::none;
}

}  // namespace netcore::detail

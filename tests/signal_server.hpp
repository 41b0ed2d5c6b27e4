// The server's half of the signal channel (PROTOCOL.md §11.2), written out inline for the tests
// of the client's half, since the rendezvous' own is not ported yet. It is also the recipe for it:
//
//   Hello(client key)           -> Challenge(server key, salt, cookie), 70 bytes for 70
//   client_sealed(key, cookie, counter, box)
//       shared  = X25519(server secret, client key)          (refuse a low-order client key)
//       key     = BLAKE2b(shared, "netcore v2 signal" || client key || server key || salt)
//       opens with nonce prefix 0 (kFromClient) and the envelope's counter, ad = the clear head
//   server_sealed(counter, box): the same key, prefix 1 (kFromServer), counters from 1 up.
#pragma once

#include <catch2/catch.hpp>

#include <optional>
#include <vector>

#include "crypto.hpp"
#include "netcore/protocol.hpp"

namespace netcore::test {

using Bytes = std::vector<std::uint8_t>;

class SignalServer {
  public:
    SignalServer() : keys_(crypto::generate_key_pair()) { new_run(); }
    explicit SignalServer(const crypto::KeyPair& keys) : keys_(keys) { new_run(); }

    /// A restart: a new salt (so new signal keys) and cookie. Counters go on from above the
    /// last run's, as the real server's do (they start from its clock, PROTOCOL.md §11.2).
    void new_run() {
        static std::uint64_t next_run = std::uint64_t{1} << 40;
        crypto::random_bytes(salt_);
        new_cookie();
        sent_ = next_run;
        next_run += std::uint64_t{1} << 20;
    }
    void new_cookie() { crypto::random_bytes(cookie_); }

    [[nodiscard]] const PublicKey& public_key() const { return keys_.public_key; }
    [[nodiscard]] const protocol::Salt& salt() const { return salt_; }
    [[nodiscard]] const protocol::Cookie& cookie() const { return cookie_; }

    /// The answer to a Hello (or to a Register with a stale cookie).
    [[nodiscard]] Bytes challenge() const {
        Bytes b(protocol::kChallengeSize);
        REQUIRE(protocol::encode_challenge(keys_.public_key, salt_, cookie_, b) == b.size());
        return b;
    }

    /// The signal key of a client under this run's salt; nothing for a low-order client key.
    [[nodiscard]] std::optional<crypto::SymmetricKey> key_for(const PublicKey& client) const {
        crypto::SymmetricKey shared{};
        if (!crypto::agree(keys_.secret_key, client, shared)) return std::nullopt;
        return crypto::signal_key(shared, client, keys_.public_key, salt_);
    }

    /// Opens a client_sealed datagram and decodes its message (names view this server's
    /// buffer, until the next open). Nothing when it is not one, or does not open.
    std::optional<protocol::Message> open(std::span<const std::uint8_t> datagram) {
        protocol::Envelope e;
        if (protocol::decode_envelope(datagram, e) != protocol::DecodeError::ok ||
            e.type != protocol::EnvelopeType::client_sealed)
            return std::nullopt;
        last_client_ = e.client_key;
        last_cookie_ = e.cookie;
        const auto key = key_for(e.client_key);
        if (!key) return std::nullopt;
        const auto n = crypto::open(*key, crypto::kFromClient, e.counter, e.ad, e.box, plain_);
        if (n < 0) return std::nullopt;
        protocol::Message m;
        if (protocol::decode_inner(std::span(plain_.data(), static_cast<std::size_t>(n)), m) !=
            protocol::DecodeError::ok)
            return std::nullopt;
        return m;
    }
    /// The client key and cookie of the last client_sealed given to open().
    [[nodiscard]] const PublicKey& last_client() const { return last_client_; }
    [[nodiscard]] const protocol::Cookie& last_cookie() const { return last_cookie_; }

    /// Seals `m` for `client` into a server_sealed datagram, with the next counter.
    Bytes seal(const PublicKey& client, const protocol::Message& m) {
        return seal_with(client, m, ++sent_);
    }
    Bytes seal_with(const PublicKey& client, const protocol::Message& m, std::uint64_t counter) {
        const auto key = key_for(client);
        REQUIRE(key);
        Bytes b(protocol::kMaxDatagramSize);
        const auto head = protocol::encode_server_sealed_head(counter, b);
        REQUIRE(head == protocol::kServerSealedHead);
        std::array<std::uint8_t, protocol::kMaxDatagramSize> plain{};
        const auto n = protocol::encode_inner(m, plain);
        REQUIRE(n > 0);
        const auto box = crypto::seal(*key, crypto::kFromServer, counter, std::span(b).first(head),
                                      std::span(plain.data(), n), std::span(b).subspan(head));
        REQUIRE(box == n + crypto::kTagSize);
        b.resize(head + box);
        return b;
    }

  private:
    crypto::KeyPair keys_;
    protocol::Salt salt_{};
    protocol::Cookie cookie_{};
    std::uint64_t sent_ = 0;
    PublicKey last_client_{};
    protocol::Cookie last_cookie_{};
    std::array<std::uint8_t, protocol::kMaxDatagramSize> plain_{};
};

/// Decodes a datagram the test made or recorded; fails the test if it is not a valid envelope.
inline protocol::Envelope envelope_of(std::span<const std::uint8_t> datagram) {
    protocol::Envelope e;
    REQUIRE(protocol::decode_envelope(datagram, e) == protocol::DecodeError::ok);
    return e;
}

}  // namespace netcore::test

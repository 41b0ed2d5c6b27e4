// The client's end of its sealed channel to the rendezvous (PROTOCOL.md §11.2): a key pair for
// this run, the server's pinned (or first-seen) key, the server's salt and cookie from its last
// Challenge, and the signal key they make. Seals what the client sends and opens what the server
// sends; a server datagram that does not open is dropped before anything parses it.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "crypto.hpp"
#include "netcore/protocol.hpp"

namespace netcore::detail {

class SignalChannel {
  public:
    /// `server_key`: the key the game pinned; nothing to learn it from the first Challenge.
    explicit SignalChannel(std::optional<PublicKey> server_key);

    /// This run's key pair: registered with the server, and the base of every peer session's keys.
    [[nodiscard]] const crypto::KeyPair& key_pair() const { return keys_; }
    /// True once a Challenge gave us a salt: seal() works.
    [[nodiscard]] bool keyed() const { return keyed_; }

    /// Keys the channel from a resumption ticket (a previous run's server key, salt and cookie)
    /// instead of a Challenge: seal() works at once, under this run's key pair. False (nothing
    /// changed) when a key is pinned and the ticket's is another, or the ticket's key is of low
    /// order. Without a pinned key the ticket's key is only tentative: a Challenge naming
    /// another key is still taken, as a fresh run's first one would be, until a datagram from
    /// the server opened under the ticket's key (PROTOCOL.md §6 step 1).
    bool resume(const PublicKey& server_key, const protocol::Salt& salt,
                const protocol::Cookie& cookie);
    /// True while the server key came from a ticket and nothing has opened under it yet.
    [[nodiscard]] bool tentative() const { return tentative_; }

    /// Writes a Hello (clear: our key; it asks for a Challenge). Returns its size.
    std::size_t hello(std::span<std::uint8_t> out) const;

    enum class ChallengeOutcome {
        ignored,     ///< the same cookie and salt again, or a salt we may not take now
        new_cookie,  ///< same salt, new cookie: send the Register again with it
        new_salt,    ///< a new server run (or our first Challenge): keys made anew; register
    };
    /// Takes a Challenge's cookie, and its salt when `accept_salt` (the caller allows it only
    /// while registering, or once its own signals went unanswered: a forged Challenge must not
    /// move a registered client off a working key).
    ChallengeOutcome on_challenge(const protocol::Envelope& challenge, bool accept_salt);

    /// Seals `message` into a client_sealed envelope. Returns its size, 0 if not keyed yet.
    std::size_t seal(const protocol::Message& message, std::span<std::uint8_t> out);

    /// Opens a server_sealed envelope into `scratch` and decodes it. False (and nothing parsed)
    /// when it does not open, is a replay, or its plaintext is malformed (`error` says which).
    enum class OpenError { none, unauthenticated, replayed, malformed };
    OpenError open(const protocol::Envelope& sealed, std::span<std::uint8_t> scratch,
                   protocol::Message& out);

    /// The server key in use: pinned, or learned from the first Challenge (trust on first use).
    [[nodiscard]] const std::optional<PublicKey>& server_key() const { return server_key_; }
    /// The salt of the server run we are keyed for (valid once keyed()).
    [[nodiscard]] const protocol::Salt& salt() const { return salt_; }
    /// The cookie of the last Challenge (or ticket) taken: all zeros before the first.
    [[nodiscard]] const protocol::Cookie& cookie() const { return cookie_; }

  private:
    crypto::KeyPair keys_;
    std::optional<PublicKey> server_key_;
    crypto::SymmetricKey shared_{};  // X25519(ours, server's): computed once per server key
    crypto::SymmetricKey key_{};     // the signal key (§11.2)
    protocol::Salt salt_{};
    protocol::Cookie cookie_{};
    bool keyed_ = false;
    bool unusable_ = false;
    bool tentative_ = false;  // server_key_ came from a ticket, unpinned and unconfirmed  // the
                              // pinned key is of low order: nothing can be keyed
    // The last counter we sealed. Never reset: a Challenge is clear, so an earlier salt (and
    // with it an earlier key) can come back, and a counter must never repeat under a key.
    std::uint64_t sent_ = 0;
    crypto::ReplayWindow window_;
};

}  // namespace netcore::detail

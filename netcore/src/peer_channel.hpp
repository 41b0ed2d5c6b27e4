// One peer's sealed channel (PROTOCOL.md §11.3): the keys of one introduction, this side's
// session nonce and channel id, the peer's once learned, and the replay window. Seals and
// opens probes and ENet datagrams; what does not open is dropped before anything parses it.
// No socket and no clock: the session feeds it datagrams and sends what it seals.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "crypto.hpp"
#include "netcore/protocol.hpp"

namespace netcore::detail {

class PeerChannel {
  public:
    /// Why a datagram for this channel was dropped.
    enum class Drop {
        none,
        unauthenticated,  ///< the box did not open: a stranger, a forgery, or damage
        replayed,         ///< its counter was already seen, or is older than the window
        stale,            ///< an acknowledgement of a nonce that is not ours (another session)
        malformed,        ///< it opened, but its plaintext is not a valid message
        not_ready,        ///< ENet data before the peer's nonce is known
    };

    /// Starts a session for `intro`, received by `me` (our name and run key pair). False when the
    /// peer's key is unusable (low order): nothing can be sealed then.
    /// `identity`, when both sides hold identity keys (Config::identity_key, peer_identity):
    /// X25519(our identity secret, the peer's identity key), mixed into the introduction key so
    /// that only the holder of the expected identity can open anything (§11.3).
    bool begin(const crypto::KeyPair& me, std::string_view my_name,
               const protocol::Introduction& intro, const crypto::SymmetricKey* identity = nullptr);
    void end() { active_ = false; }
    [[nodiscard]] bool active() const { return active_; }

    /// Seals a Probe or ProbeAck into a peer_probe envelope. A ProbeAck echoes the nonce of the
    /// last probe that opened. Returns the size, or 0.
    std::size_t seal_probe(const protocol::Message& message, std::span<std::uint8_t> out);

    /// Opens a peer_probe into `scratch`; on success `out` views it. An acknowledgement must
    /// echo our nonce, which proves the peer holds the key now (a replay cannot): it confirms
    /// the peer's nonce, and so the data keys.
    Drop open_probe(const protocol::Envelope& sealed, std::span<std::uint8_t> scratch,
                    protocol::Message& out);

    /// True when ENet datagrams can be sealed and opened (the peer's nonce is known).
    [[nodiscard]] bool data_ready() const { return data_ready_; }
    /// Seals one ENet datagram into a peer_data envelope. Returns the size, or 0.
    std::size_t seal_data(std::span<const std::uint8_t> enet, std::span<std::uint8_t> out);
    /// Opens a peer_data envelope in place: on success `plain` views the ENet datagram inside
    /// `box` (the envelope's box, writable). A datagram that opens confirms the peer's nonce.
    Drop open_data(const protocol::Envelope& sealed, std::span<std::uint8_t> box,
                   std::span<const std::uint8_t>& plain);

    /// Our channel id: the peer puts it in every peer_data it sends us.
    [[nodiscard]] std::uint32_t channel() const { return channel_; }
    /// The introduction's probe tag (§11.3): the first 4 bytes of every probe's nonce, both ways.
    [[nodiscard]] std::uint32_t probe_tag() const { return tag_; }
    [[nodiscard]] bool confirmed() const { return confirmed_; }
    /// The peer's session nonce: of the latest probe that opened, or the confirmed one.
    [[nodiscard]] const protocol::PeerNonce& peer_nonce() const { return peer_nonce_; }
    [[nodiscard]] std::uint64_t data_sent() const { return sent_; }

  private:
    void learn(const protocol::PeerNonce& nonce, std::uint32_t channel);

    bool active_ = false;
    protocol::Role role_ = protocol::Role::responder;
    crypto::SymmetricKey introduction_{};
    crypto::SymmetricKey probe_send_{};
    crypto::SymmetricKey probe_receive_{};
    crypto::SymmetricKey data_send_{};
    crypto::SymmetricKey data_receive_{};
    protocol::PeerNonce nonce_{};       // ours, for this session
    protocol::PeerNonce peer_nonce_{};  // the peer's, once a probe opened
    protocol::PeerNonce echo_{};        // the nonce of the last probe that opened: acks echo it
    std::uint32_t channel_ = 0;         // ours
    std::uint32_t tag_ = 0;             // the introduction's probe tag
    std::uint32_t peer_channel_ = 0;    // the peer's: we put it in what we send
    bool data_ready_ = false;
    bool confirmed_ = false;  // the peer's nonce is proven current: later probes may not move it
    // The last data counter we sealed, this session. Not reset when the peer's nonce changes:
    // until it is confirmed, a replayed probe of an earlier session can move it away and back,
    // back to data keys we already sealed under, and a counter must never repeat under a key.
    std::uint64_t sent_ = 0;
    crypto::ReplayWindow window_;
};

}  // namespace netcore::detail

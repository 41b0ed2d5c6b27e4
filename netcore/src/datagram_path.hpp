// The datagram path (PROTOCOL.md §11.4, docs/SECURITY.md): every datagram that reaches the one
// socket — after the relay unwrapped what came through it — is sorted here: the rendezvous'
// envelopes, a peer's probes, a peer's ENet datagrams. Each peer's datagrams are found by what
// the envelope carries in clear, before any key is tried: a probe by its nonce's tag (the
// introduction's, §11.3), ENet data by our channel id. Only what opened goes further, and ENet
// parses only a PeerData that opened, in place, from the address it came from. The other way,
// ENet hands each datagram it is about to send to the peer's link (EnetHost's send hook), which
// seals it. One PeerLink per peer. No clock, no socket.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

#include "crypto.hpp"
#include "enet_host.hpp"
#include "netcore/protocol.hpp"
#include "peer_channel.hpp"

namespace netcore::detail {

/// Frames a sealed datagram for our own TURN allocation (a relay-only introduction, PROTOCOL.md
/// §4.14): ChannelData or a Send indication to the peer's relayed address, which the session
/// sends to our TURN server.
class RelayFramer {
  public:
    /// The framed size written into `out`, or 0 when it cannot be framed yet (no allocation, no
    /// peer relay, no permission).
    virtual std::size_t frame(std::span<const std::uint8_t> sealed,
                              std::span<std::uint8_t> out) = 0;

  protected:
    ~RelayFramer() = default;
};

/// One peer: its sealed channel, and where its traffic may come from. It seals what ENet sends
/// the peer (EnetHost calls seal_enet for each datagram, PROTOCOL.md §11.4).
struct PeerLink final : EnetSealer {
    PeerChannel channel;
    /// Relay only (Config::relay_only): the one address the peer may send from; none yet: none.
    bool relay_only = false;
    std::optional<Address> relayed;
    /// Relay-only introductions: what ENet sends is sealed, then framed for our own allocation
    /// (the session points ENet's peer at our TURN server). Null: sent as sealed.
    RelayFramer* framer = nullptr;
    /// A reflexive relay (the peer reaches us through our own allocation, and we answer that
    /// way): our TURN server's address, which the peer's datagrams are presented as coming from.
    std::optional<Address> reflexive;
    /// The connectID of the peer's ENet connection (§11.4): ours when we connected, the one of
    /// its CONNECT when it did. ENet's datagrams name it, so each is sealed by its own link.
    std::optional<enet_uint32> connect_id;
    /// The initiator's ENet CONNECT as ENet last sent it, unsealed (PROTOCOL.md §6 step 4):
    /// before the peer's nonce is known it cannot be sealed as PeerData, so it rides the probes
    /// (Connection::send), sealed in the probe's box. Empty: none.
    /// The responder's side: the peer's session nonce when its CONNECT (connect_id) was taken
    /// from a probe. A CONNECT taken under another nonce than the peer's current one may be a
    /// replay of an earlier session's first probe, and gives way (Session: take_connect).
    protocol::PeerNonce connect_nonce{};
    std::array<std::uint8_t, protocol::kMaxProbeConnect> handshake{};
    std::size_t handshake_size = 0;
    [[nodiscard]] std::span<const std::uint8_t> handshake_datagram() const {
        return {handshake.data(), handshake_size};
    }

    /// Starts a session for `intro`. False when the peer's key is unusable.
    bool begin(const crypto::KeyPair& me, std::string_view my_name,
               const protocol::Introduction& intro, const crypto::SymmetricKey* identity = nullptr);
    /// Ends the session: the keys go, and nothing more is sealed.
    void end();
    /// Seals one ENet datagram into a PeerData envelope; 0 (refused) without data keys.
    std::size_t seal_enet(std::span<const std::uint8_t> datagram,
                          std::span<std::uint8_t> out) override;
    [[nodiscard]] bool active() const { return channel.active(); }
    /// True when `from` may carry this peer's probes and data (relay only: the peer's relay).
    [[nodiscard]] bool admits(Address from) const {
        return !relay_only || (relayed && from == *relayed) || (reflexive && from == *reflexive);
    }

  private:
    std::array<std::uint8_t, ENET_PROTOCOL_MAXIMUM_MTU + protocol::kDataOverhead> framing_{};
};

/// Whether an ENet datagram that opened under `link` may reach ENet (PROTOCOL.md §11.4): it
/// must name the link's ENet connection (its connectID in the checksum slot), or carry 0 and no
/// CONNECT (ENet reads that as addressed to no peer). A CONNECT is taken only by a responder's
/// link (`responder`) that has no connectID yet, and only when `taken` says no other connection
/// holds its connectID: then the link claims it. Copies of it are refused (one ENet peer each).
/// Otherwise an authenticated peer could reach another peer's ENet slot, or make us seal our
/// traffic to it under another peer's keys.
[[nodiscard]] bool admit_enet(PeerLink& link, std::span<const std::uint8_t> plain, bool responder,
                              const std::function<bool(enet_uint32)>& taken);

class DatagramPath {
  public:
    /// The session's peers' links, found by what a datagram carries in clear.
    class Links {
      public:
        /// The active link whose introduction has this probe tag, or null.
        virtual PeerLink* by_probe_tag(std::uint32_t tag) = 0;
        /// The active link whose (our) channel id is `channel`, or null.
        virtual PeerLink* by_channel(std::uint32_t channel) = 0;
        /// An ENet datagram that opened under `link`, before ENet parses it. False: drop it (it
        /// names another connection's ENet peer, say).
        virtual bool admit_enet(PeerLink& link, std::span<const std::uint8_t> plain) = 0;

      protected:
        ~Links() = default;
    };

    /// Where what opened goes.
    class Receiver {
      public:
        /// An envelope from the server's address (clear or sealed: the signal channel opens it).
        virtual void on_server(const protocol::Envelope& envelope, Address from) = 0;
        /// A Probe or ProbeAck that opened under the peer's keys.
        virtual void on_probe(const protocol::Message& message, Address from) = 0;
        /// The same, with the link it opened under (a session with many peers needs it).
        virtual void on_link_probe(PeerLink& /*link*/, const protocol::Message& message,
                                   Address from) {
            on_probe(message, from);
        }
        /// A datagram of another wire version from the server's address.
        virtual void on_server_version(std::uint8_t version) = 0;
        /// The Probe that just opened under `link` (and was taken: on_link_probe) carries the
        /// peer's ENet CONNECT (§4.8). True: ENet parses it, as if it came in a PeerData.
        virtual bool take_connect(PeerLink& /*link*/, std::span<const std::uint8_t> /*connect*/) {
            return false;
        }

      protected:
        ~Receiver() = default;
    };

    /// `server`: the rendezvous' address. `sealed`: false only for plaintext ENet (benchmarks).
    DatagramPath(Address server, bool sealed) : server_(server), sealed_(sealed) {}

    /// Sorts one datagram. True: consumed (handed to `receiver`, or dropped and counted).
    /// False: ENet parses `in`, which now views the opened plaintext inside ENet's own receive
    /// buffer (plaintext ENet: `in` as it came).
    bool route(Incoming& in, Links& links, Receiver& receiver);
    /// The same with one peer (or none: an inactive link).
    bool route(Incoming& in, PeerLink& peer, Receiver& receiver);

    /// What an envelope names in clear: a probe's tag or a PeerData's channel, for attributing
    /// relayed data to a connection before anything is opened.
    struct Key {
        bool probe = false;
        std::uint32_t value = 0;
    };
    [[nodiscard]] static std::optional<Key> key_of(std::span<const std::uint8_t> datagram);

    /// Datagrams dropped here, and of those, the ones that did not open (or were not sealed).
    [[nodiscard]] std::uint32_t dropped() const { return dropped_; }
    [[nodiscard]] std::uint32_t unauthenticated() const { return unauthenticated_; }
    /// Of those: probes whose tag names no introduction of ours (dropped before any crypto).
    [[nodiscard]] std::uint32_t unknown_tags() const { return unknown_tags_; }
    [[nodiscard]] bool sealed() const { return sealed_; }

  private:
    void drop(PeerChannel::Drop why);
    bool on_data(const protocol::Envelope& envelope, Incoming& in, Links& links);

    Address server_;
    bool sealed_;
    std::uint32_t dropped_ = 0;
    std::uint32_t unauthenticated_ = 0;
    std::uint32_t unknown_tags_ = 0;
    std::array<std::uint8_t, protocol::kMaxDatagramSize> scratch_{};  // opened probes live here
};

}  // namespace netcore::detail

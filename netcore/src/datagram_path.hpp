// The datagram path (PROTOCOL.md §11.4, docs/SECURITY.md): every datagram that reaches the one
// socket — after the relay unwrapped what came through it — is sorted here: the rendezvous'
// envelopes, a peer's probes, a peer's ENet datagrams. Only what opened goes further, and ENet
// parses only a PeerData that opened, in place, as if it came from the peer's tap. The other way,
// what ENet sent to a peer's tap is sealed here and sent on ENet's socket. One PeerLink per peer.
// No clock; the only sockets are the taps.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "crypto.hpp"
#include "enet_host.hpp"
#include "enet_tap.hpp"
#include "netcore/protocol.hpp"
#include "outbox.hpp"
#include "peer_channel.hpp"

namespace netcore::detail {

/// One peer: its sealed channel, the tap ENet sends it through, and where its traffic comes from.
struct PeerLink {
    PeerChannel channel;
    std::optional<EnetTap> tap;  ///< none: plaintext ENet (Config::insecure_plaintext_enet)
    Address data_from;           ///< where the peer's last ENet datagram that opened came from
    /// Relay only (Config::relay_only): the one address the peer may send from; none yet: none.
    bool relay_only = false;
    std::optional<Address> relayed;

    /// Starts a session for `intro`: keys, and (sealed) a tap that ENet's socket at `enet_port`
    /// sends into. False when the peer's key is unusable or the tap cannot be opened.
    bool begin(const crypto::KeyPair& me, std::string_view my_name,
               const protocol::Introduction& intro, bool sealed, std::uint16_t enet_port,
               const crypto::SymmetricKey* identity = nullptr);
    /// Ends the session: keys and tap go.
    void end();
    [[nodiscard]] bool active() const { return channel.active(); }
    /// True when `from` may carry this peer's probes and data (relay only: the peer's relay).
    [[nodiscard]] bool admits(Address from) const {
        return !relay_only || (relayed && from == *relayed);
    }
};

class DatagramPath {
  public:
    /// Where what opened goes.
    class Receiver {
      public:
        /// An envelope from the server's address (clear or sealed: the signal channel opens it).
        virtual void on_server(const protocol::Envelope& envelope, Address from) = 0;
        /// A Probe or ProbeAck that opened under the peer's keys.
        virtual void on_probe(const protocol::Message& message, Address from) = 0;
        /// A datagram of another wire version from the server's address.
        virtual void on_server_version(std::uint8_t version) = 0;

      protected:
        ~Receiver() = default;
    };

    /// `server`: the rendezvous' address. `sealed`: false only for plaintext ENet (benchmarks).
    DatagramPath(Address server, bool sealed) : server_(server), sealed_(sealed) {}

    /// Sorts one datagram. True: consumed (handed to `receiver`, or dropped and counted).
    /// False: ENet parses `in`, which now views the opened plaintext inside ENet's own receive
    /// buffer and comes from the peer's tap (plaintext ENet: `in` as it came).
    bool route(Incoming& in, PeerLink& peer, Receiver& receiver);

    /// Seals what ENet sent to the peer's tap and sends it to `to` (nothing goes while `to` is
    /// empty). Returns how many datagrams went out.
    std::size_t pump(PeerLink& peer, Address to, RawOutbox& out);

    /// Datagrams dropped here, and of those, the ones that did not open (or were not sealed).
    [[nodiscard]] std::uint32_t dropped() const { return dropped_; }
    [[nodiscard]] std::uint32_t unauthenticated() const { return unauthenticated_; }
    [[nodiscard]] bool sealed() const { return sealed_; }

  private:
    void drop(PeerChannel::Drop why);
    bool on_data(const protocol::Envelope& envelope, Incoming& in, PeerLink& peer);

    Address server_;
    bool sealed_;
    std::uint32_t dropped_ = 0;
    std::uint32_t unauthenticated_ = 0;
    std::array<std::uint8_t, protocol::kMaxDatagramSize> scratch_{};  // opened probes live here
};

}  // namespace netcore::detail

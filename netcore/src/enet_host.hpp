// RAII ownership of the one ENetHost (and so the one UDP socket) a session uses, the bridge that
// lets netcore's own datagrams share that socket with ENet (PROTOCOL.md §1), and the send
// hook that seals what ENet sends (PROTOCOL.md §11.4).
#pragma once

#include <enet/enet.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>

#include "netcore/address.hpp"
#include "netcore/protocol.hpp"

namespace netcore::detail {

[[nodiscard]] ENetAddress to_enet(Address a);
[[nodiscard]] Address from_enet(const ENetAddress& a);

/// One datagram as it came off the socket, before ENet parses it.
struct Incoming {
    std::span<const std::uint8_t> data;
    Address from;
};

/// An ICMP error the kernel reported for a datagram we sent (Linux IP_RECVERR). Anyone who can
/// guess our port and the destination can forge one: a hint, never proof.
struct Unreachable {
    Address destination;     ///< where the datagram that drew it was going
    std::uint32_t from = 0;  ///< who sent the ICMP (the destination, or a router on the way)
    std::uint8_t type = 0;   ///< ICMP type; 3 is destination unreachable (RFC 792)
    std::uint8_t code = 0;   ///< with type 3: 0 net, 1 host, 3 port unreachable, 13 prohibited
    /// Nothing listens on the destination's port: the host itself said so.
    [[nodiscard]] bool port_unreachable() const { return type == 3 && code == 3; }
};

/// Sees every datagram first, then ENet's events.
class HostListener {
  public:
    /// True: the datagram was ours (consumed; ENet never sees it). False: ENet parses `in`,
    /// which the listener may have rewritten: a view of the bytes inside the datagram (the
    /// payload of a TURN ChannelData, say) and another source (the address ENet knows the peer by).
    virtual bool on_datagram(Incoming& in) = 0;
    virtual void on_enet_event(ENetEvent& event) = 0;
    /// An ICMP error for something we sent, while EnetHost::watch_unreachable is on.
    virtual void on_unreachable(const Unreachable& /*error*/) {}

  protected:
    ~HostListener() = default;
};

/// What one remote peer can make us hold, in bytes. ENet's defaults (32 MiB each) are sized for
/// file transfers; a game's messages are a few hundred bytes, so a megabyte is generous.
struct EnetLimits {
    /// Largest packet ENet reassembles from a peer (ENetHost::maximumPacketSize), and the
    /// largest we can send: enet_peer_send refuses a bigger one. A peer's bigger packet is
    /// dropped fragment by fragment and never acknowledged, so a reliable one stalls its channel
    /// until the sender times out.
    std::size_t max_packet_size = std::size_t{1} << 20;
    /// Received data ENet buffers per peer before the game takes it (ENetHost::maximumWaitingData):
    /// past it ENet stops acknowledging, and the peer's reliable data waits on its side.
    std::size_t max_waiting_data = std::size_t{4} << 20;
};

/// Seals each datagram ENet is about to send (PROTOCOL.md §11.4).
class EnetSealer {
  public:
    /// Seals `datagram` (ENet's header, its 4-byte checksum slot, its commands) into `out`.
    /// Returns the size, or 0 to refuse: then nothing of the datagram leaves the socket.
    virtual std::size_t seal_enet(std::span<const std::uint8_t> datagram,
                                  std::span<std::uint8_t> out) = 0;

  protected:
    ~EnetSealer() = default;
};

/// Where ENet 1.3's 4-byte checksum slot sits in `datagram`: after the 2-byte peer id and, when
/// the header's SENT_TIME flag is set, the 2-byte sent time. Empty when the datagram is too short
/// to hold it.
[[nodiscard]] std::optional<std::size_t> enet_checksum_slot(std::span<const std::uint8_t> datagram);

/// Which ENet connection `datagram` belongs to (PROTOCOL.md §11.4): its checksum slot holds the
/// connection's connectID once the peer has one; before (0 in the slot) only a CONNECT, whose
/// body carries the connectID. Empty for a datagram too short, or with 0 and no CONNECT first.
struct EnetConnection {
    enet_uint32 connect_id = 0;
    bool connect = false;  ///< the id came from a CONNECT's body (the slot held 0)
};
[[nodiscard]] std::optional<EnetConnection> enet_connection_of(
    std::span<const std::uint8_t> datagram);

/// Room left after a sealed ENet datagram for the TURN framing of a relay-only introduction
/// (PeerLink::framer): a Send indication's 36 bytes and up to 3 of padding.
inline constexpr std::size_t kRelayFramingRoom = 40;

class EnetHost {
  public:
    /// Calls of enet_host_service that fail (-1) in one service() at most: each failed call
    /// consumed one bad datagram (256 a frame is ~15,000 a second at 60 fps), and the next
    /// service() continues.
    static constexpr int kMaxServiceErrors = 256;
    /// Calls of enet_host_service that return 0 with data still pending (an empty datagram
    /// stopped its receive, see service(), or it read its 256) in one service() at most.
    static constexpr int kMaxReceiveRestarts = 256;
    /// ICMP errors read in one service() at most. The kernel queues them within the socket's
    /// receive buffer; what is left is read next time.
    static constexpr int kMaxUnreachable = 64;

    EnetHost() = default;
    ~EnetHost();
    EnetHost(const EnetHost&) = delete;
    EnetHost& operator=(const EnetHost&) = delete;

    /// Binds the socket; peer_count ENet peers, channel_count channels. False if it cannot.
    /// With a `sealer` (which must outlive the host), everything ENet sends goes through it and
    /// ENet expects the checksum slot in what it receives (sealed sessions, PROTOCOL.md §11.4);
    /// without one, ENet sends in clear (Config::insecure_plaintext_enet).
    bool open(Address bind, std::size_t peer_count, std::size_t channel_count,
              EnetLimits limits = {}, EnetSealer* sealer = nullptr);
    [[nodiscard]] bool is_open() const { return host_ != nullptr; }
    [[nodiscard]] ENetHost* get() const { return host_; }
    [[nodiscard]] Address local_address() const { return local_; }

    /// Sends one raw datagram of ours from the ENet socket. False when the socket refuses.
    bool send_raw(Address to, std::span<const std::uint8_t> bytes);

    /// Asks the kernel for the ICMP errors our datagrams draw (Linux: IP_RECVERR), which
    /// service() then hands to HostListener::on_unreachable; on from open(). Off again, the
    /// kernel keeps them to itself, as for any unconnected UDP socket. While on, an ICMP error
    /// also leaves an error pending on the socket that the next receive or send returns once
    /// (ECONNREFUSED) instead of working: service() clears it, send_raw() sends again, and
    /// ENet's own sends may lose one datagram to it, which ENet re-sends as it would a loss. So
    /// it is for the time before a peer exists: the session keeps it on only while registering.
    /// Elsewhere than Linux it does nothing.
    void watch_unreachable(bool on);
    [[nodiscard]] bool watching_unreachable() const { return watching_; }

    /// Receives everything pending: ICMP errors (see watch_unreachable), then our datagrams
    /// and ENet events go to `listener`; then sends what ENet has queued. Never blocks. A
    /// datagram ENet cannot read (larger than its 4096-byte buffer), an empty one, or a pending
    /// socket error does not stop it, up to the bounds above.
    void service(HostListener& listener);

    /// Sends what ENet has queued now.
    void flush();

    /// enet_peer_disconnect_now, which sends its goodbye at once: through the sealer.
    void disconnect_now(ENetPeer* peer, enet_uint32 data);

    [[nodiscard]] std::uint64_t raw_bytes_sent() const { return raw_bytes_sent_; }
    /// Calls of enet_host_service that returned -1 (a truncated datagram, or a socket error).
    [[nodiscard]] std::uint64_t service_errors() const { return service_errors_; }
    /// Calls of enet_host_service that returned 0 with data still pending, called again.
    [[nodiscard]] std::uint64_t receive_restarts() const { return receive_restarts_; }
    /// Datagrams of ENet's the sealer refused (no session keys): sent empty instead.
    [[nodiscard]] std::uint64_t seal_refused() const { return seal_refused_; }
    /// ICMP errors handed to the listener (see watch_unreachable), whatever their destination.
    [[nodiscard]] std::uint64_t unreachable_reported() const { return unreachable_reported_; }

  private:
    class Scope;
    static int ENET_CALLBACK intercept(ENetHost* host, ENetEvent* event);
    static enet_uint32 ENET_CALLBACK checksum(const ENetBuffer* buffers, std::size_t count);
    void seal_outgoing();
    void drain_unreachable(HostListener& listener);

    ENetHost* host_ = nullptr;
    EnetSealer* sealer_ = nullptr;
    std::uint64_t seal_refused_ = 0;
    // ENet's datagram gathered from its buffers, then sealed (and, relay-only, framed for our
    // TURN server): ENet sends `sealed_` (§11.4).
    std::array<std::uint8_t, ENET_PROTOCOL_MAXIMUM_MTU> gathered_{};
    std::array<std::uint8_t,
               ENET_PROTOCOL_MAXIMUM_MTU + protocol::kDataOverhead + kRelayFramingRoom>
        sealed_{};
    Address local_;
    std::uint64_t raw_bytes_sent_ = 0;
    std::uint64_t service_errors_ = 0;
    std::uint64_t receive_restarts_ = 0;
    bool watching_ = false;
    std::uint64_t unreachable_reported_ = 0;
};

/// Tells ENet the round-trip time the probes measured, before it knows better. ENet starts
/// every peer at 500 ms and doubles from there, so under loss a lost handshake command would
/// wait 0.5, 1, 2, 4 s; seeded, its re-sends follow the real path (tens of ms). Commands
/// already in flight are rescheduled too (the responder's VERIFY_CONNECT is sent before we
/// see the peer).
void seed_round_trip(ENetPeer* peer, enet_uint32 rtt_ms);

/// Keeps the re-send timeout of a peer's unacknowledged commands at most `timeout_ms` instead
/// of letting ENet double it on every try. For the handshake only: under 10% loss on each of
/// two routers a handshake round trip fails one time in three, and ENet's doubling would leave
/// four failures in a row (1%) waiting seconds for the fifth try.
void cap_resend_timeout(ENetPeer* peer, enet_uint32 timeout_ms);

/// The peer's path moved after an outage: its unacknowledged reliable commands go out again
/// within one retransmission timeout of the path's round trip, instead of after the doubled
/// timeouts the outage left (0.8, 1.6 s ... after a second or two of silence). Their give-up
/// limits stay as they were, so this never ends the connection sooner.
void resend_soon(ENetPeer* peer);

/// What the game queued to `peer` that is not acknowledged (reliable) or not sent (unreliable)
/// yet, in bytes of message data (PeerInfo::queued_bytes).
[[nodiscard]] std::size_t queued_bytes(const ENetPeer& peer);

/// The address of the local interface that routes to `server`, found by connecting a
/// throwaway UDP socket (nothing is sent). Empty when it cannot be found.
[[nodiscard]] Address local_route_to(Address server);

}  // namespace netcore::detail

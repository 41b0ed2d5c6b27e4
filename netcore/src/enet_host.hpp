// RAII ownership of the one ENetHost (and so the one UDP socket) a session uses, and the
// bridge that lets netcore's own datagrams share that socket with ENet (DESIGN.md decision 1).
#pragma once

#include <enet/enet.h>

#include <cstdint>
#include <span>

#include "netcore/address.hpp"

namespace netcore::detail {

[[nodiscard]] ENetAddress to_enet(Address a);
[[nodiscard]] Address from_enet(const ENetAddress& a);

/// One datagram as it came off the socket, before ENet parses it.
struct Incoming {
    std::span<const std::uint8_t> data;
    Address from;
};

/// Sees every datagram first, then ENet's events.
class HostListener {
  public:
    /// True: the datagram was ours (consumed; ENet never sees it). False: ENet parses `in`,
    /// which the listener may have rewritten: a view of the bytes inside the datagram (the
    /// payload of a TURN ChannelData, say) and another source (the address ENet knows the peer by).
    virtual bool on_datagram(Incoming& in) = 0;
    virtual void on_enet_event(ENetEvent& event) = 0;

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

class EnetHost {
  public:
    /// Calls of enet_host_service that fail (-1) in one service() at most: each failed call
    /// consumed one bad datagram (256 a frame is ~15,000 a second at 60 fps), and the next
    /// service() continues.
    static constexpr int kMaxServiceErrors = 256;
    /// Calls of enet_host_service that return 0 with data still pending (an empty datagram
    /// stopped its receive, see service(), or it read its 256) in one service() at most.
    static constexpr int kMaxReceiveRestarts = 256;

    EnetHost() = default;
    ~EnetHost();
    EnetHost(const EnetHost&) = delete;
    EnetHost& operator=(const EnetHost&) = delete;

    /// Binds the socket; peer_count ENet peers, channel_count channels. False if it cannot.
    bool open(Address bind, std::size_t peer_count, std::size_t channel_count,
              EnetLimits limits = {});
    [[nodiscard]] bool is_open() const { return host_ != nullptr; }
    [[nodiscard]] ENetHost* get() const { return host_; }
    [[nodiscard]] Address local_address() const { return local_; }

    /// Sends one raw datagram of ours from the ENet socket. False when the socket refuses.
    bool send_raw(Address to, std::span<const std::uint8_t> bytes);

    /// Receives everything pending: our datagrams and ENet events go to `listener`; then
    /// sends what ENet has queued. Never blocks. A datagram ENet cannot read (larger than its
    /// 4096-byte buffer) or an empty one does not stop it, up to the bounds above.
    void service(HostListener& listener);

    /// Sends what ENet has queued now.
    void flush();

    [[nodiscard]] std::uint64_t raw_bytes_sent() const { return raw_bytes_sent_; }
    /// Calls of enet_host_service that returned -1 (a truncated datagram, or a socket error).
    [[nodiscard]] std::uint64_t service_errors() const { return service_errors_; }
    /// Calls of enet_host_service that returned 0 with data still pending, called again.
    [[nodiscard]] std::uint64_t receive_restarts() const { return receive_restarts_; }

  private:
    static int ENET_CALLBACK intercept(ENetHost* host, ENetEvent* event);

    ENetHost* host_ = nullptr;
    Address local_;
    std::uint64_t raw_bytes_sent_ = 0;
    std::uint64_t service_errors_ = 0;
    std::uint64_t receive_restarts_ = 0;
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

/// The address of the local interface that routes to `server`, found by connecting a
/// throwaway UDP socket (nothing is sent). Empty when it cannot be found.
[[nodiscard]] Address local_route_to(Address server);

}  // namespace netcore::detail

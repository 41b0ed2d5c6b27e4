// The one socket: ENet owns it; our datagrams go out with enet_socket_send and come in through
// ENetHost::intercept before ENet parses anything; ENet's own go out through its checksum
// callback, which seals them (PROTOCOL.md §11.4).
#include "enet_host.hpp"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <mutex>

#if defined(__linux__)
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <sys/socket.h>
#endif

namespace netcore::detail {

namespace {

// ENet keeps no user pointer on ENetHost, and intercept() is only ever called from inside
// enet_host_service(), which only EnetHost::service() calls: so the listener of the service
// call in progress on this thread is the one the datagram belongs to.
thread_local HostListener* t_listener = nullptr;
// Likewise ENet's checksum callback gets only the buffers: the host whose enet_host_service,
// enet_host_flush or enet_peer_disconnect_now runs on this thread (EnetHost::Scope) owns them.
thread_local EnetHost* t_host = nullptr;

void ensure_enet_initialized() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (enet_initialize() == 0) std::atexit(enet_deinitialize);
    });
}

}  // namespace

// Makes `host` the one ENet's callbacks on this thread belong to, for one call into ENet.
class EnetHost::Scope {
  public:
    explicit Scope(EnetHost& host) : outer_(t_host) { t_host = &host; }
    ~Scope() { t_host = outer_; }
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

  private:
    EnetHost* outer_;
};

std::optional<EnetConnection> enet_connection_of(std::span<const std::uint8_t> datagram) {
    const auto at = enet_checksum_slot(datagram);
    if (!at) return std::nullopt;
    enet_uint32 slot = 0;  // ENet writes it in host order, and compares it so
    std::memcpy(&slot, datagram.data() + *at, sizeof slot);
    if (slot != 0) return EnetConnection{slot, false};
    // The first command: a CONNECT (ENetProtocolConnect, packed, its header included) carries
    // the connectID at a fixed offset, also in host order.
    const std::size_t command = *at + sizeof slot;
    if (datagram.size() < command + sizeof(ENetProtocolConnect)) return std::nullopt;
    if ((datagram[command] & ENET_PROTOCOL_COMMAND_MASK) != ENET_PROTOCOL_COMMAND_CONNECT)
        return std::nullopt;
    enet_uint32 id = 0;
    std::memcpy(&id, datagram.data() + command + offsetof(ENetProtocolConnect, connectID),
                sizeof id);
    return EnetConnection{id, true};
}

std::optional<std::size_t> enet_checksum_slot(std::span<const std::uint8_t> datagram) {
    // ENetProtocolHeader: peerID (2 bytes, big-endian, its top bit ENET_PROTOCOL_HEADER_FLAG_
    // SENT_TIME), then sentTime (2 bytes) only when that flag is set; the slot follows.
    constexpr std::size_t kPeerId = 2;
    constexpr std::size_t kSentTime = 2;
    constexpr std::size_t kSlot = sizeof(enet_uint32);
    if (datagram.size() < kPeerId) return std::nullopt;
    const auto flags = static_cast<enet_uint16>((datagram[0] << 8) | datagram[1]);
    const std::size_t at =
        (flags & ENET_PROTOCOL_HEADER_FLAG_SENT_TIME) ? kPeerId + kSentTime : kPeerId;
    if (datagram.size() < at + kSlot) return std::nullopt;
    return at;
}

ENetAddress to_enet(Address a) {
    ENetAddress e{};
    e.host = ENET_HOST_TO_NET_32(a.ip);
    e.port = a.port;
    return e;
}

Address from_enet(const ENetAddress& a) {
    return Address{ENET_NET_TO_HOST_32(a.host), a.port};
}

EnetHost::~EnetHost() {
    if (host_ != nullptr) enet_host_destroy(host_);
}

bool EnetHost::open(Address bind, std::size_t peer_count, std::size_t channel_count,
                    EnetLimits limits, EnetSealer* sealer) {
    ensure_enet_initialized();
    const ENetAddress addr = to_enet(bind);
    host_ = enet_host_create(&addr, peer_count, channel_count, 0, 0);
    if (host_ == nullptr) return false;
    host_->intercept = &EnetHost::intercept;
    sealer_ = sealer;
    if (sealer_ != nullptr) host_->checksum = &EnetHost::checksum;
    host_->maximumPacketSize = limits.max_packet_size;
    host_->maximumWaitingData = limits.max_waiting_data;
    ENetAddress bound{};
    if (enet_socket_get_address(host_->socket, &bound) == 0) local_ = from_enet(bound);
    watch_unreachable(true);
    return true;
}

void EnetHost::watch_unreachable(bool on) {
    if (host_ == nullptr || on == watching_) return;
#if defined(__linux__)
    const int value = on ? 1 : 0;
    // Turning it off also empties the socket's error queue (ip_setsockopt); an error left
    // pending on the socket is cleared here, so that no receive or send returns it later.
    if (setsockopt(host_->socket, SOL_IP, IP_RECVERR, &value, sizeof value) != 0) return;
    if (!on) {
        int pending = 0;
        socklen_t length = sizeof pending;
        getsockopt(host_->socket, SOL_SOCKET, SO_ERROR, &pending, &length);
    }
    watching_ = on;
#endif
}

// Reads the socket's error queue (recvmsg with MSG_ERRQUEUE): each entry is one ICMP error, the
// address its datagram was sent to in msg_name, and a sock_extended_err followed by the
// address of who sent the ICMP in the IP_RECVERR control message (ip(7), "IP_RECVERR").
void EnetHost::drain_unreachable([[maybe_unused]] HostListener& listener) {
#if defined(__linux__)
    if (!watching_) return;
    for (int i = 0; i < kMaxUnreachable; ++i) {
        sockaddr_in to{};
        std::array<std::uint8_t, 64> payload{};  // what we sent: not needed, cut short
        iovec iov{payload.data(), payload.size()};
        alignas(cmsghdr) std::array<std::uint8_t, 256> control{};
        msghdr msg{};
        msg.msg_name = &to;
        msg.msg_namelen = sizeof to;
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.data();
        msg.msg_controllen = control.size();
        if (recvmsg(host_->socket, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) break;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_IP || c->cmsg_type != IP_RECVERR ||
                c->cmsg_len < CMSG_LEN(sizeof(sock_extended_err) + sizeof(sockaddr_in)))
                continue;
            sock_extended_err err{};
            std::memcpy(&err, CMSG_DATA(c), sizeof err);
            if (err.ee_origin != SO_EE_ORIGIN_ICMP || to.sin_family != AF_INET) continue;
            sockaddr_in offender{};  // SO_EE_OFFENDER: right after the sock_extended_err
            std::memcpy(&offender, CMSG_DATA(c) + sizeof err, sizeof offender);
            Unreachable u;
            u.destination = Address{ntohl(to.sin_addr.s_addr), ntohs(to.sin_port)};
            u.from = offender.sin_family == AF_INET ? ntohl(offender.sin_addr.s_addr) : 0;
            u.type = err.ee_type;
            u.code = err.ee_code;
            ++unreachable_reported_;
            listener.on_unreachable(u);
        }
    }
    // Each ICMP error also left an error pending on the socket (sk_err), which ENet's next
    // receive would return (-1, ECONNREFUSED) in place of a datagram. Reading an entry moves it
    // to the next entry's error; with entries left over (more than kMaxUnreachable), it stays:
    // read and forget it.
    int pending = 0;
    socklen_t length = sizeof pending;
    getsockopt(host_->socket, SOL_SOCKET, SO_ERROR, &pending, &length);
#endif
}

bool EnetHost::send_raw(Address to, std::span<const std::uint8_t> bytes) {
    if (host_ == nullptr) return false;
    const ENetAddress addr = to_enet(to);
    ENetBuffer buffer;
    buffer.data = const_cast<std::uint8_t*>(bytes.data());  // ENet's buffers are not const
    buffer.dataLength = bytes.size();
    int sent = enet_socket_send(host_->socket, &addr, &buffer, 1);
    // An ICMP error that came since the last service() fails one send, and is gone with it
    // (watch_unreachable): it was about an earlier datagram, not this one.
    if (sent < 0 && watching_ && errno == ECONNREFUSED)
        sent = enet_socket_send(host_->socket, &addr, &buffer, 1);
    if (sent <= 0) return false;
    raw_bytes_sent_ += static_cast<std::uint64_t>(sent);
    return true;
}

int ENET_CALLBACK EnetHost::intercept(ENetHost* host, ENetEvent* /*event*/) {
    if (t_listener == nullptr) return 0;
    Incoming in{{host->receivedData, host->receivedDataLength}, from_enet(host->receivedAddress)};
    if (t_listener->on_datagram(in)) return 1;
    // ENet's: it parses whatever the listener left. ENet reads receivedData, its length and
    // receivedAddress only after intercept returns, and the view points into its own buffer.
    host->receivedData = const_cast<enet_uint8*>(in.data.data());
    host->receivedDataLength = in.data.size();
    host->receivedAddress = to_enet(in.from);
    return 0;
}

// ENet 1.3.17 calls the checksum callback in two places of protocol.c, and nowhere else:
// - Sending (enet_protocol_send_outgoing_commands, line 1677) with host->buffers: the whole
//   datagram, header and checksum slot first, then the commands and packet data. The next call
//   to touch them is enet_socket_send (host->socket, &currentPeer->address, host->buffers,
//   host->bufferCount), line 1689. In between, only the store of our return value into ENet's
//   local header copy (line 1677: we gathered it already, so it goes nowhere) and the
//   compression branch (lines 1680-1685: we set no compressor). So we seal here and point
//   host->buffers at the sealed datagram: ENet's own sendmsg sends it to the peer's real address.
//   This depends on that order: "enet: ENet's own send carries its datagram sealed by the
//   link, and nothing in clear" (tests/test_datagram_path.cpp) and the attack tests' sniffer
//   fail if an ENet ever changes it.
// - Receiving (enet_protocol_handle_incoming_commands, lines 1061-1073) with a local buffer over
//   the datagram, after ENet overwrote its slot with the peer's connectID (0 before there is a
//   peer); ENet compares our return with the slot's original content. What reaches ENet opened
//   under the peer's keys already (DatagramPath), so we return the slot as ENet rewrote it: it
//   passes when the sender wrote the same connectID, ENet's own check that a datagram belongs
//   to this connection and not an earlier one, without a CRC.
enet_uint32 ENET_CALLBACK EnetHost::checksum(const ENetBuffer* buffers, std::size_t count) {
    EnetHost* const self = t_host;
    if (self != nullptr && buffers == self->host_->buffers) {
        self->seal_outgoing();
        return 0;  // stored into ENet's local header copy, which is no longer sent
    }
    if (self != nullptr && count == 1) {
        const std::span<const std::uint8_t> datagram(
            static_cast<const std::uint8_t*>(buffers->data), buffers->dataLength);
        enet_uint32 slot = 0;
        // The datagram path passes only datagrams that hold the slot (DatagramPath::on_data).
        if (const auto at = enet_checksum_slot(datagram))
            std::memcpy(&slot, datagram.data() + *at, sizeof slot);
        return slot;
    }
    // Called outside our scope (someone called ENet directly): if this is a send, send nothing
    // of it. ENet's buffers are not const; a receive's local buffer is not read after the call.
    auto* writable = const_cast<ENetBuffer*>(buffers);
    for (std::size_t i = 0; i < count; ++i) writable[i].dataLength = 0;
    return 0;
}

// Gathers the datagram ENet is about to send, seals it, and leaves ENet one buffer: the sealed
// datagram (or an empty one, when the sealer refuses: ENet then sends 0 bytes, which the peer
// drops unread, and re-sends its reliable commands later as it would after a loss).
void EnetHost::seal_outgoing() {
    std::size_t n = 0;
    bool fits = true;
    for (std::size_t i = 0; i < host_->bufferCount; ++i) {
        const ENetBuffer& b = host_->buffers[i];
        if (b.dataLength > gathered_.size() - n) {
            fits = false;
            break;
        }
        std::memcpy(gathered_.data() + n, b.data, b.dataLength);
        n += b.dataLength;
    }
    const std::size_t sealed = fits ? sealer_->seal_enet({gathered_.data(), n}, sealed_) : 0;
    if (sealed == 0) ++seal_refused_;
    host_->buffers[0].data = sealed_.data();
    host_->buffers[0].dataLength = sealed;
    host_->bufferCount = 1;
}

void EnetHost::service(HostListener& listener) {
    if (host_ == nullptr) return;
    const Scope scope(*this);
    HostListener* const outer = t_listener;
    t_listener = &listener;
    drain_unreachable(listener);
    ENetEvent event;
    // enet_host_service sends, receives (up to 256 datagrams), sends again and hands out one
    // event. It returns > 0 with an event; 0 when its receive found nothing; -1 when a receive
    // or a send failed. ENet 1.3.17 also returns -1 for a datagram larger than its 4096-byte
    // buffer (MSG_TRUNC), which the kernel has consumed: calling again carries on with the next
    // one. And enet_socket_receive returns 0 for an empty datagram as for an empty socket, so
    // one empty datagram ends ENet's receive too: carry on while the socket still has data.
    // Stopping at either would let anyone who can send us a datagram hold back the peer's.
    int errors = 0;
    int restarts = 0;
    for (;;) {
        const int result = enet_host_service(host_, &event, 0);
        if (result > 0) {
            listener.on_enet_event(event);
        } else if (result < 0) {
            ++service_errors_;
            if (++errors >= kMaxServiceErrors) break;
        } else {
            enet_uint32 condition = ENET_SOCKET_WAIT_RECEIVE;
            if (enet_socket_wait(host_->socket, &condition, 0) != 0 ||
                (condition & ENET_SOCKET_WAIT_RECEIVE) == 0)
                break;
            ++receive_restarts_;
            if (++restarts >= kMaxReceiveRestarts) break;
        }
    }
    t_listener = outer;
}

void EnetHost::flush() {
    if (host_ == nullptr) return;
    const Scope scope(*this);
    enet_host_flush(host_);
}

void EnetHost::disconnect_now(ENetPeer* peer, enet_uint32 data) {
    const Scope scope(*this);
    enet_peer_disconnect_now(peer, data);
}

void seed_round_trip(ENetPeer* peer, enet_uint32 rtt_ms) {
    peer->roundTripTime = rtt_ms;
    peer->roundTripTimeVariance = rtt_ms / 2;
    cap_resend_timeout(peer, peer->roundTripTime + 4 * peer->roundTripTimeVariance);
}

void cap_resend_timeout(ENetPeer* peer, enet_uint32 timeout) {
    bool first = true;
    for (ENetListIterator it = enet_list_begin(&peer->sentReliableCommands);
         it != enet_list_end(&peer->sentReliableCommands); it = enet_list_next(it)) {
        auto* command = reinterpret_cast<ENetOutgoingCommand*>(it);
        if (command->roundTripTimeout <= timeout) continue;
        command->roundTripTimeout = timeout;
        command->roundTripTimeoutLimit = peer->timeoutLimit * timeout;
        if (first) peer->nextTimeout = command->sentTime + timeout;  // the oldest sets the timer
        first = false;
    }
}

std::size_t queued_bytes(const ENetPeer& peer) {
    std::size_t total = 0;
    for (const ENetList* list : {&peer.outgoingCommands, &peer.sentReliableCommands}) {
        auto* sentinel = const_cast<ENetListNode*>(&list->sentinel);
        for (ENetListNode* it = sentinel->next; it != sentinel; it = it->next) {
            const auto* command = reinterpret_cast<const ENetOutgoingCommand*>(it);
            if (command->packet != nullptr) total += command->fragmentLength;
        }
    }
    return total;
}

void resend_soon(ENetPeer* peer) {
    const enet_uint32 rto = peer->roundTripTime + 4 * peer->roundTripTimeVariance;
    bool first = true;
    for (ENetListIterator it = enet_list_begin(&peer->sentReliableCommands);
         it != enet_list_end(&peer->sentReliableCommands); it = enet_list_next(it)) {
        auto* command = reinterpret_cast<ENetOutgoingCommand*>(it);
        command->roundTripTimeout = std::min(command->roundTripTimeout, rto);
        if (first) peer->nextTimeout = command->sentTime + command->roundTripTimeout;
        first = false;
    }
}

Address local_route_to(Address server) {
    ensure_enet_initialized();
    const ENetSocket sock = enet_socket_create(ENET_SOCKET_TYPE_DATAGRAM);
    if (sock == ENET_SOCKET_NULL) return {};
    Address result;
    const ENetAddress to = to_enet(server);
    ENetAddress local{};
    // connect() on a datagram socket only picks the route and source address.
    if (enet_socket_connect(sock, &to) == 0 && enet_socket_get_address(sock, &local) == 0)
        result = from_enet(local);
    enet_socket_destroy(sock);
    return result;
}

}  // namespace netcore::detail

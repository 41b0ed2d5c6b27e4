// The one socket: ENet owns it; our datagrams go out with enet_socket_send and come in through
// ENetHost::intercept before ENet parses anything.
#include "enet_host.hpp"

#include <cstdlib>
#include <mutex>

namespace netcore::detail {

namespace {

// ENet keeps no user pointer on ENetHost, and intercept() is only ever called from inside
// enet_host_service(), which only EnetHost::service() calls: so the listener of the service
// call in progress on this thread is the one the datagram belongs to.
thread_local HostListener* t_listener = nullptr;

void ensure_enet_initialized() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (enet_initialize() == 0) std::atexit(enet_deinitialize);
    });
}

}  // namespace

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
                    EnetLimits limits) {
    ensure_enet_initialized();
    const ENetAddress addr = to_enet(bind);
    host_ = enet_host_create(&addr, peer_count, channel_count, 0, 0);
    if (host_ == nullptr) return false;
    host_->intercept = &EnetHost::intercept;
    host_->maximumPacketSize = limits.max_packet_size;
    host_->maximumWaitingData = limits.max_waiting_data;
    ENetAddress bound{};
    if (enet_socket_get_address(host_->socket, &bound) == 0) local_ = from_enet(bound);
    return true;
}

bool EnetHost::send_raw(Address to, std::span<const std::uint8_t> bytes) {
    if (host_ == nullptr) return false;
    const ENetAddress addr = to_enet(to);
    ENetBuffer buffer;
    buffer.data = const_cast<std::uint8_t*>(bytes.data());  // ENet's buffers are not const
    buffer.dataLength = bytes.size();
    const int sent = enet_socket_send(host_->socket, &addr, &buffer, 1);
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

void EnetHost::service(HostListener& listener) {
    if (host_ == nullptr) return;
    HostListener* const outer = t_listener;
    t_listener = &listener;
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
    if (host_ != nullptr) enet_host_flush(host_);
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

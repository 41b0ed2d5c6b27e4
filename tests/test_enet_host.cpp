// ENet's hardening, with real ENet hosts on this machine: ENet keeps servicing through datagrams
// it cannot read; ENet's packet limits hold.
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "enet_host.hpp"

using namespace netcore;
using namespace netcore::detail;
using namespace std::chrono_literals;

namespace {

constexpr std::uint32_t kLoopback = 0x7F000001u;  // 127.0.0.1
constexpr std::size_t kChannels = 2;
constexpr auto kDeadline = 10s;  // generous: a loaded 2-core machine; the cases take < 1 s

using Bytes = std::vector<std::uint8_t>;

std::string text(std::span<const std::uint8_t> b) {
    return {b.begin(), b.end()};
}

/// Where a socket bound to `local` is reached from this machine (0.0.0.0 is reached on loopback).
Address reachable(Address local) {
    return {local.ip == 0 ? kLoopback : local.ip, local.port};
}

/// Steps `frame` (one game frame) until `done`, at most kDeadline. A frame is about 1 ms.
bool run_until(const std::function<bool()>& done, const std::function<void()>& frame) {
    const auto deadline = std::chrono::steady_clock::now() + kDeadline;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        frame();
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

/// A plain UDP socket on 127.0.0.1 (someone else on this machine, or an attacker).
class RawSocket {
  public:
    RawSocket() {
        socket_ = enet_socket_create(ENET_SOCKET_TYPE_DATAGRAM);
        const ENetAddress bind = to_enet(Address{kLoopback, 0});
        REQUIRE(socket_ != ENET_SOCKET_NULL);
        REQUIRE(enet_socket_bind(socket_, &bind) == 0);
    }
    ~RawSocket() { enet_socket_destroy(socket_); }
    RawSocket(const RawSocket&) = delete;
    RawSocket& operator=(const RawSocket&) = delete;

    void send(Address to, std::span<const std::uint8_t> data) {
        const ENetAddress addr = to_enet(to);
        ENetBuffer buffer;
        buffer.data = const_cast<std::uint8_t*>(data.data());
        buffer.dataLength = data.size();
        REQUIRE(enet_socket_send(socket_, &addr, &buffer, 1) == static_cast<int>(data.size()));
    }

  private:
    ENetSocket socket_ = ENET_SOCKET_NULL;
};

struct Received {
    std::string data;
    enet_uint8 channel;
};

/// Records ENet's events; `on_raw` decides about each datagram first (default: ENet's).
struct Recorder final : HostListener {
    std::function<bool(Incoming&)> on_raw;
    std::vector<ENetPeer*> connected;
    std::size_t disconnects = 0;
    std::vector<Received> received;

    bool on_datagram(Incoming& in) override { return on_raw ? on_raw(in) : false; }
    void on_enet_event(ENetEvent& event) override {
        switch (event.type) {
            case ENET_EVENT_TYPE_CONNECT:
                connected.push_back(event.peer);
                break;
            case ENET_EVENT_TYPE_DISCONNECT:
                ++disconnects;
                break;
            case ENET_EVENT_TYPE_RECEIVE:
                received.push_back(
                    {text({event.packet->data, event.packet->dataLength}), event.channelID});
                enet_packet_destroy(event.packet);
                break;
            case ENET_EVENT_TYPE_NONE:
                break;
        }
    }
    [[nodiscard]] bool got(const std::string& data) const {
        return std::any_of(received.begin(), received.end(),
                           [&](const Received& r) { return r.data == data; });
    }
};

void send(ENetPeer* peer, const std::string& data, enet_uint32 flags, enet_uint8 channel = 0) {
    ENetPacket* packet = enet_packet_create(data.data(), data.size(), flags);
    REQUIRE(enet_peer_send(peer, channel, packet) == 0);
}

/// A and B with plain ENet, A connected to B; `frame` runs one frame of both.
struct PlainPair {
    EnetHost a, b;
    Recorder a_events, b_events;
    ENetPeer* a_to_b = nullptr;
    ENetPeer* b_to_a = nullptr;

    explicit PlainPair(EnetLimits a_limits = {}, EnetLimits b_limits = {}) {
        REQUIRE(a.open(Address{kLoopback, 0}, 4, kChannels, a_limits));
        REQUIRE(b.open(Address{kLoopback, 0}, 4, kChannels, b_limits));
        const ENetAddress to = to_enet(b.local_address());
        a_to_b = enet_host_connect(a.get(), &to, kChannels, 0);
        REQUIRE(a_to_b != nullptr);
        REQUIRE(
            run_until([&] { return !a_events.connected.empty() && !b_events.connected.empty(); },
                      [&] { frame(); }));
        b_to_a = b_events.connected.front();
    }
    void frame() {
        a.service(a_events);
        b.service(b_events);
    }
};

}  // namespace

// ==== ENet's hardening =========================================================================

TEST_CASE("datagrams ENet cannot read do not hold back the peer's packets") {
    // 300 datagrams a second against a 60 fps game is 5 a frame; 60 frames of it. Before the fix
    // ENet stopped at the first one each frame, so a backlog grew in front of the peer's.
    const bool oversize = GENERATE(true, false);
    INFO((oversize ? "5000-byte datagrams (MSG_TRUNC)" : "empty datagrams"));
    PlainPair pair;
    RawSocket attacker;
    const Bytes attack(oversize ? 5000 : 0, 0x41);
    constexpr int kFrames = 60;
    constexpr int kPerFrame = 5;
    constexpr int kMaxLatencyFrames = 3;  // sent and received in the same frame, on loopback

    int frame = 0;
    std::vector<int> arrived_at;  // the frame each of B's packets reached A
    REQUIRE(run_until([&] { return frame >= kFrames && arrived_at.size() == kFrames; },
                      [&] {
                          if (frame < kFrames) {
                              for (int i = 0; i < kPerFrame; ++i)
                                  attacker.send(reachable(pair.a.local_address()), attack);
                              send(pair.b_to_a, std::to_string(frame), ENET_PACKET_FLAG_RELIABLE);
                          }
                          pair.b.service(pair.b_events);
                          pair.a.service(pair.a_events);
                          while (arrived_at.size() < pair.a_events.received.size())
                              arrived_at.push_back(frame);
                          ++frame;
                      }));

    for (int i = 0; i < kFrames; ++i) {
        INFO("B's packet " << i);
        CHECK(pair.a_events.received[static_cast<std::size_t>(i)].data == std::to_string(i));
        CHECK(arrived_at[static_cast<std::size_t>(i)] - i <= kMaxLatencyFrames);
    }
    CHECK(pair.a_events.disconnects == 0);
    CHECK(pair.a_to_b->state == ENET_PEER_STATE_CONNECTED);
    if (oversize) {
        CHECK(pair.a.service_errors() == kFrames * kPerFrame);
    } else {
        CHECK(pair.a.service_errors() == 0);
        CHECK(pair.a.receive_restarts() >= kFrames * (kPerFrame - 1));
    }
}

TEST_CASE("a packet over ENet's size limit is not delivered while smaller ones are") {
    EnetLimits small;
    small.max_packet_size = 16 * 1024;
    EnetLimits large;
    large.max_packet_size = 64 * 1024;  // so that B may send what A refuses
    PlainPair pair(small, large);

    const std::string over(32 * 1024, 'O');
    const std::string under(8 * 1024, 'U');  // fragmented too, within the limit
    send(pair.b_to_a, over, ENET_PACKET_FLAG_UNRELIABLE_FRAGMENT);
    send(pair.b_to_a, under, ENET_PACKET_FLAG_RELIABLE);
    send(pair.b_to_a, "small", ENET_PACKET_FLAG_RELIABLE);
    REQUIRE(run_until([&] { return pair.a_events.got("small"); }, [&] { pair.frame(); }));
    CHECK(pair.a_events.got(under));
    CHECK_FALSE(pair.a_events.got(over));
    CHECK(pair.a_events.disconnects == 0);

    // Our own limit bounds what we send, too.
    ENetPacket* huge = enet_packet_create(nullptr, small.max_packet_size + 1, 0);
    CHECK(enet_peer_send(pair.a_to_b, 0, huge) < 0);
    enet_packet_destroy(huge);
}

TEST_CASE("a reliable packet over the limit is never acknowledged, so its sender times out") {
    // Not a choice of ours, ENet's behaviour: the receiver rejects each fragment without an
    // acknowledgement, the sender re-sends it until its peer timeout.
    EnetLimits small;
    small.max_packet_size = 16 * 1024;
    EnetLimits large;
    large.max_packet_size = 64 * 1024;
    PlainPair pair(small, large);
    enet_peer_timeout(pair.b_to_a, 4, 200, 1000);  // ms: a short timeout keeps the test short

    send(pair.b_to_a, std::string(32 * 1024, 'R'), ENET_PACKET_FLAG_RELIABLE);
    send(pair.b_to_a, "behind it", ENET_PACKET_FLAG_RELIABLE);
    REQUIRE(run_until([&] { return pair.b_events.disconnects == 1; }, [&] { pair.frame(); }));
    CHECK_FALSE(pair.a_events.got("behind it"));
}

TEST_CASE("EnetLimits defaults are game-sized, far below ENet's 32 MiB") {
    EnetHost host;
    REQUIRE(host.open(Address{kLoopback, 0}, 1, 1));
    CHECK(host.get()->maximumPacketSize == 1024 * 1024);
    CHECK(host.get()->maximumWaitingData == 4 * 1024 * 1024);
    CHECK(ENET_HOST_DEFAULT_MAXIMUM_PACKET_SIZE == 32 * 1024 * 1024);
}

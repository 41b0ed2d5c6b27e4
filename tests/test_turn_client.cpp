// The TURN client: first its state machine against a scripted server with time stepped by hand
// ([unit]), then against a real coturn turnserver on 127.0.0.1 ([coturn]; exits 77, skipped,
// when turnserver is not installed: scripts/setup.sh --with-interop installs it).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <nettle/base64.h>
#include <nettle/hmac.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "allocation_counter.hpp"
#include "coturn.hpp"
#include "relay.hpp"
#include "stun_message.hpp"
#include "turn_client.hpp"

using namespace netcore;
using namespace std::chrono_literals;
using detail::TurnClient;
namespace stun = netcore::detail::stun;
using Bytes = std::vector<std::uint8_t>;
using Kind = TurnClient::Received::Kind;

namespace {

Bytes bytes_of(std::string_view s) {
    return Bytes(s.begin(), s.end());
}
std::string string_of(std::span<const std::uint8_t> b) {
    return std::string(b.begin(), b.end());
}

// ==== A scripted server, time stepped by hand ==============================================

const Address kServer{0xC6336401u, 3478};    // 198.51.100.1
const Address kRelayed{0xCB007101u, 50000};  // 203.0.113.1
const Address kMapped{0xCB007102u, 40000};
const Address kPeer{0xCB007107u, 6000};
const Address kStranger{0xCB007108u, 6000};
constexpr std::string_view kRealm = "netcore.test";

// Records what the client sends.
class Recorder final : public detail::RawOutbox {
  public:
    void send_raw(Address to, std::span<const std::uint8_t> b) override {
        sent.push_back({to, Bytes(b.begin(), b.end())});
    }
    /// The n-th datagram sent, parsed (it must be STUN).
    [[nodiscard]] stun::Message message(std::size_t n) const {
        stun::Message m;
        REQUIRE(n < sent.size());
        REQUIRE(stun::parse(sent[n].bytes, m) == stun::ParseError::ok);
        return m;
    }
    [[nodiscard]] stun::Message last() const { return message(sent.size() - 1); }
    [[nodiscard]] std::size_t count(stun::Method method) const {
        std::size_t n = 0;
        for (const auto& d : sent) {
            stun::Message m;
            n += stun::parse(d.bytes, m) == stun::ParseError::ok && m.method() == method &&
                 m.cls() == stun::Class::request;
        }
        return n;
    }

    struct Datagram {
        Address to;
        Bytes bytes;
    };
    std::vector<Datagram> sent;
};

// The server's answer to `request`: its class, attributes, and MESSAGE-INTEGRITY under `key`.
Bytes answer(const stun::Message& request, stun::Class cls,
             const std::function<void(stun::Writer&)>& attributes,
             const stun::IntegrityKey* key = nullptr) {
    Bytes out(1500);
    stun::Writer w(out, request.method(), cls, request.transaction());
    attributes(w);
    if (key != nullptr) w.add_integrity(*key);
    REQUIRE(w.ok());
    out.resize(w.bytes().size());
    return out;
}

Bytes error(const stun::Message& request, int code, std::string_view reason,
            std::string_view nonce = "nonce-1") {
    return answer(request, stun::Class::error, [&](stun::Writer& w) {
        w.add_error_code(code, reason);
        w.add(stun::Attr::realm, kRealm);
        w.add(stun::Attr::nonce, nonce);
    });
}

// A client stepped by hand against the scripted server.
struct Scripted {
    TurnClient turn;
    Recorder out;
    TimePoint t0{};
    stun::IntegrityKey key = stun::IntegrityKey::long_term("1700000000:alice", kRealm, "secret");

    TurnClient::Received feed(const Bytes& datagram, TimePoint now) {
        return turn.handle(datagram, now, out);
    }
    Bytes success(const std::function<void(stun::Writer&)>& attributes = [](stun::Writer&) {}) {
        return answer(out.last(), stun::Class::success, attributes, &key);
    }

    /// start(), the 401, and a successful authenticated Allocate granting `lifetime` seconds.
    void allocate(std::uint32_t lifetime = 600) {
        turn.start(kServer, {"1700000000:alice", "secret"}, t0, out);
        REQUIRE(feed(error(out.last(), 401, "Unauthorized"), t0).kind == Kind::consumed);
        REQUIRE(feed(success([&](stun::Writer& w) {
                         w.add_xor_address(stun::Attr::xor_relayed_address, kRelayed);
                         w.add_xor_address(stun::Attr::xor_mapped_address, kMapped);
                         w.add_u32(stun::Attr::lifetime, lifetime);
                     }),
                     t0)
                    .kind == Kind::consumed);
        REQUIRE(turn.state() == TurnClient::State::allocated);
    }

    /// A Data indication from `peer` carrying `payload`.
    static Bytes data_indication(Address peer, std::string_view payload) {
        Bytes b(1500);
        stun::Writer w(b, stun::Method::data, stun::Class::indication, {9, 9, 9});
        w.add_xor_address(stun::Attr::xor_peer_address, peer);
        w.add(stun::Attr::data, payload);
        b.resize(w.bytes().size());
        return b;
    }
};

}  // namespace

TEST_CASE("the first Allocate is unauthenticated and asks for UDP", "[unit]") {
    Scripted s;
    s.turn.start(kServer, {"1700000000:alice", "secret"}, s.t0, s.out);
    CHECK(s.turn.state() == TurnClient::State::allocating);
    REQUIRE(s.out.sent.size() == 1);
    CHECK(s.out.sent[0].to == kServer);
    const auto m = s.out.last();
    CHECK(m.method() == stun::Method::allocate);
    CHECK(m.cls() == stun::Class::request);
    CHECK(m.find(stun::Attr::requested_transport));
    CHECK_FALSE(m.find(stun::Attr::username));
    CHECK_FALSE(m.has_integrity());
    CHECK(s.turn.is_server(kServer));
    CHECK_FALSE(s.turn.is_server(kPeer));
}

TEST_CASE("requests are resent at 250 ms doubling to 2 s, 7 times, then the client fails",
          "[unit]") {
    Scripted s;
    s.turn.start(kServer, {"u", "p"}, s.t0, s.out);
    // Sends at 0, 0.25, 0.75, 1.75, 3.75, 5.75, 7.75 s, with the same transaction id.
    const std::vector<std::pair<Duration, std::size_t>> schedule = {
        {249ms, 1},  {250ms, 2},  {749ms, 2},  {750ms, 3},  {1750ms, 4},
        {3749ms, 4}, {3750ms, 5}, {5750ms, 6}, {7750ms, 7}, {9749ms, 7}};
    for (const auto& [at, sends] : schedule) {
        s.turn.update(s.t0 + at, s.out);
        INFO("at " << at.count() << " ms");
        CHECK(s.out.sent.size() == sends);
    }
    for (std::size_t i = 1; i < s.out.sent.size(); ++i)
        CHECK(s.out.message(i).transaction() == s.out.message(0).transaction());
    CHECK(s.turn.state() == TurnClient::State::allocating);
    s.turn.update(s.t0 + 9750ms, s.out);
    CHECK(s.turn.state() == TurnClient::State::failed);
    CHECK(s.turn.error() ==
          "no answer from TURN server 198.51.100.1:3478 to Allocate (sent 7 times over 10 s)");
    CHECK(s.turn.counters().requests_sent == 7);
    CHECK(s.turn.counters().retransmissions == 6);
    s.turn.update(s.t0 + 20s, s.out);
    CHECK(s.out.sent.size() == 7);  // failed is final
}

TEST_CASE("a client given a shorter timing resends and gives up on that schedule", "[unit]") {
    // 20 ms doubling to 80 ms, 4 sends: at 0, 20, 60, 140 ms; failure 80 ms after the last.
    const detail::TurnTiming timing{20ms, 80ms, 4};
    CHECK(timing.give_up_after() == 220ms);
    CHECK(detail::TurnTiming{}.give_up_after() == 9750ms);  // the default, as documented
    CHECK(detail::TurnTiming::scaled(25ms).give_up_after() == 975ms);
    Scripted s;
    s.turn = TurnClient(timing);
    s.turn.start(kServer, {"u", "p"}, s.t0, s.out);
    const std::vector<std::pair<Duration, std::size_t>> schedule = {
        {19ms, 1}, {20ms, 2}, {59ms, 2}, {60ms, 3}, {140ms, 4}, {219ms, 4}};
    for (const auto& [at, sends] : schedule) {
        s.turn.update(s.t0 + at, s.out);
        INFO("at " << at.count() << " ms");
        CHECK(s.out.sent.size() == sends);
        CHECK(s.turn.state() == TurnClient::State::allocating);
    }
    s.turn.update(s.t0 + 220ms, s.out);
    CHECK(s.turn.state() == TurnClient::State::failed);
    CHECK(s.turn.error() ==
          "no answer from TURN server 198.51.100.1:3478 to Allocate (sent 4 times over 220 ms)");
}

TEST_CASE("a 401 with realm and nonce is answered by a signed Allocate with a new id", "[unit]") {
    Scripted s;
    s.turn.start(kServer, {"1700000000:alice", "secret"}, s.t0, s.out);
    const auto first = s.out.last().transaction();
    CHECK(s.feed(error(s.out.last(), 401, "Unauthorized"), s.t0 + 10ms).kind == Kind::consumed);
    REQUIRE(s.out.sent.size() == 2);
    const auto m = s.out.last();
    CHECK(m.method() == stun::Method::allocate);
    CHECK(m.transaction() != first);
    CHECK(m.text(stun::Attr::username) == "1700000000:alice");
    CHECK(m.text(stun::Attr::realm) == kRealm);
    CHECK(m.text(stun::Attr::nonce) == "nonce-1");
    CHECK(m.find(stun::Attr::requested_transport));
    CHECK(m.check_integrity(s.key));  // key = MD5("1700000000:alice:netcore.test:secret")

    CHECK(s.feed(s.success([](stun::Writer& w) {
               w.add_xor_address(stun::Attr::xor_relayed_address, kRelayed);
               w.add_xor_address(stun::Attr::xor_mapped_address, kMapped);
               w.add_u32(stun::Attr::lifetime, 600);
           }),
                 s.t0 + 20ms)
              .kind == Kind::consumed);
    CHECK(s.turn.state() == TurnClient::State::allocated);
    CHECK(s.turn.relayed() == kRelayed);
    CHECK(s.turn.mapped() == kMapped);
    CHECK(s.turn.lifetime() == 600s);
    CHECK(s.turn.error().empty());
}

TEST_CASE("a refused password fails with one sentence naming the server and the 401", "[unit]") {
    Scripted s;
    s.turn.start(kServer, {"1700000000:alice", "wrong"}, s.t0, s.out);
    s.feed(error(s.out.last(), 401, "Unauthorized"), s.t0);
    CHECK(s.turn.state() == TurnClient::State::allocating);
    s.feed(error(s.out.last(), 401, "Unauthorized", "nonce-2"), s.t0);
    CHECK(s.turn.state() == TurnClient::State::failed);
    CHECK(s.turn.error() ==
          "TURN server 198.51.100.1:3478 refused the credentials (401 Unauthorized)");
    CHECK(s.turn.error_code() == 401);
    const auto sent = s.out.sent.size();
    s.turn.update(s.t0 + 30s, s.out);
    CHECK(s.out.sent.size() == sent);
}

TEST_CASE("any other error code fails with the code and the server's reason", "[unit]") {
    Scripted s;
    s.turn.start(kServer, {"u", "p"}, s.t0, s.out);
    s.feed(error(s.out.last(), 401, "Unauthorized"), s.t0);
    s.feed(error(s.out.last(), 486, "Allocation Quota Reached\x01"), s.t0);
    CHECK(s.turn.state() == TurnClient::State::failed);
    CHECK(s.turn.error() ==
          "TURN server 198.51.100.1:3478 answered Allocate with 486 Allocation Quota Reached?");
    CHECK(s.turn.error_code() == 486);
}

TEST_CASE(
    "answers with another transaction id, the wrong method or a bad MESSAGE-INTEGRITY "
    "are dropped",
    "[unit]") {
    Scripted s;
    s.turn.start(kServer, {"1700000000:alice", "secret"}, s.t0, s.out);
    s.feed(error(s.out.last(), 401, "Unauthorized"), s.t0);
    const auto request = s.out.last();
    const auto relayed = [](stun::Writer& w) {
        w.add_xor_address(stun::Attr::xor_relayed_address, kRelayed);
        w.add_u32(stun::Attr::lifetime, 600);
    };

    Bytes other = answer(request, stun::Class::success, relayed, &s.key);
    other[8] ^= 1;  // another transaction id (and so a wrong HMAC too)
    CHECK(s.feed(other, s.t0).kind == Kind::dropped);

    const auto wrong_key = stun::IntegrityKey::long_term("1700000000:alice", kRealm, "guess");
    CHECK(s.feed(answer(request, stun::Class::success, relayed, &wrong_key), s.t0).kind ==
          Kind::dropped);
    CHECK(s.turn.counters().integrity_failures == 1);

    Bytes refresh(1500);  // a Refresh answer to our Allocate's id
    stun::Writer w(refresh, stun::Method::refresh, stun::Class::success, request.transaction());
    refresh.resize(w.bytes().size());
    CHECK(s.feed(refresh, s.t0).kind == Kind::dropped);
    CHECK(s.feed(Bytes{0x00, 0x01, 0x02}, s.t0).kind == Kind::dropped);
    CHECK(s.turn.state() == TurnClient::State::allocating);
    CHECK(s.turn.counters().dropped == 4);

    CHECK(s.feed(answer(request, stun::Class::success, relayed, &s.key), s.t0).kind ==
          Kind::consumed);
    CHECK(s.turn.state() == TurnClient::State::allocated);
    // The same answer again (the server answering a retransmission) is not news, nor an error.
    CHECK(s.feed(answer(request, stun::Class::success, relayed, &s.key), s.t0).kind ==
          Kind::consumed);
    CHECK(s.turn.counters().dropped == 4);
}

TEST_CASE("the allocation is refreshed at half its lifetime, and a 438 brings in the new nonce",
          "[unit]") {
    Scripted s;
    s.allocate(600);
    const auto sent = s.out.sent.size();
    s.turn.update(s.t0 + 299s, s.out);
    CHECK(s.out.sent.size() == sent);
    s.turn.update(s.t0 + 300s, s.out);
    REQUIRE(s.out.sent.size() == sent + 1);
    auto m = s.out.last();
    CHECK(m.method() == stun::Method::refresh);
    CHECK(m.text(stun::Attr::nonce) == "nonce-1");
    CHECK(m.u32(stun::Attr::lifetime) == 600u);  // what the Allocate was granted

    // Stale nonce: the same Refresh again at once, with the new nonce and a new id.
    CHECK(s.feed(error(m, 438, "Stale Nonce", "nonce-2"), s.t0 + 300s).kind == Kind::consumed);
    REQUIRE(s.out.sent.size() == sent + 2);
    const auto again = s.out.last();
    CHECK(again.method() == stun::Method::refresh);
    CHECK(again.transaction() != m.transaction());
    CHECK(again.text(stun::Attr::nonce) == "nonce-2");
    CHECK(again.check_integrity(s.key));
    CHECK(s.turn.counters().stale_nonces == 1);

    CHECK(s.feed(s.success([](stun::Writer& w) { w.add_u32(stun::Attr::lifetime, 100); }),
                 s.t0 + 301s)
              .kind == Kind::consumed);
    CHECK(s.turn.counters().refreshes == 1);
    CHECK(s.turn.lifetime() == 100s);
    s.turn.update(s.t0 + 350s, s.out);  // next refresh at 301 + 50 s
    CHECK(s.out.last().method() == stun::Method::refresh);
    CHECK(s.out.last().text(stun::Attr::nonce) == "nonce-2");
    CHECK(s.turn.state() == TurnClient::State::allocated);
}

TEST_CASE("a server that answers 438 to every fresh nonce makes the client give up", "[unit]") {
    Scripted s;
    s.allocate(600);
    s.turn.update(s.t0 + 300s, s.out);
    for (int i = 0; i < TurnClient::kMaxStaleNonces; ++i) {
        s.feed(error(s.out.last(), 438, "Stale Nonce", "n" + std::to_string(i)), s.t0 + 300s);
        CHECK(s.turn.state() == TurnClient::State::allocated);
    }
    s.feed(error(s.out.last(), 438, "Stale Nonce", "last"), s.t0 + 300s);
    CHECK(s.turn.state() == TurnClient::State::failed);
    CHECK(s.turn.error() ==
          "TURN server 198.51.100.1:3478 keeps answering Refresh with 438 Stale Nonce");
}

TEST_CASE("permissions asked for early go out once allocated, once each, refreshed every 120 s",
          "[unit]") {
    Scripted s;
    s.turn.start(kServer, {"1700000000:alice", "secret"}, s.t0, s.out);
    s.turn.permit(kPeer, s.t0, s.out);
    CHECK(s.out.count(stun::Method::create_permission) == 0);
    s.feed(error(s.out.last(), 401, "Unauthorized"), s.t0);
    s.feed(s.success([](stun::Writer& w) {
        w.add_xor_address(stun::Attr::xor_relayed_address, kRelayed);
        w.add_u32(stun::Attr::lifetime, 600);
    }),
           s.t0);
    REQUIRE(s.out.count(stun::Method::create_permission) == 1);
    const auto m = s.out.last();
    CHECK(m.xor_address(stun::Attr::xor_peer_address) == Address{kPeer.ip, 0});
    CHECK(m.check_integrity(s.key));
    s.turn.permit(Address{kPeer.ip, 1234}, s.t0, s.out);  // same IP: nothing new
    CHECK(s.out.count(stun::Method::create_permission) == 1);
    CHECK_FALSE(s.turn.permitted(kPeer.ip));

    s.feed(s.success(), s.t0 + 10ms);
    CHECK(s.turn.permitted(kPeer.ip));
    s.turn.update(s.t0 + 10ms + 119s, s.out);
    CHECK(s.out.count(stun::Method::create_permission) == 1);
    s.turn.update(s.t0 + 10ms + 120s, s.out);
    CHECK(s.out.count(stun::Method::create_permission) == 2);

    // A refused permission (403) is marked, not retried, and does not end the allocation.
    s.turn.permit(kStranger, s.t0 + 121s, s.out);
    s.feed(error(s.out.last(), 403, "Forbidden IP"), s.t0 + 121s);
    CHECK_FALSE(s.turn.permitted(kStranger.ip));
    CHECK(s.turn.state() == TurnClient::State::allocated);
    CHECK(s.turn.counters().permission_failures == 1);
}

TEST_CASE(
    "a permission given up frees its slot: a long-lived allocation serves a ninth peer IP, "
    "and what the first sends is dropped",
    "[unit]") {
    Scripted s;
    s.allocate();
    for (std::uint32_t i = 0; i < TurnClient::kMaxPermissions; ++i) {
        s.turn.permit(Address{0xC6336400u + i, 0}, s.t0, s.out);
        s.feed(s.success(), s.t0);
    }
    const Address first{0xC6336400u, 0};
    const Address ninth{0xC6336400u + TurnClient::kMaxPermissions, 0};
    REQUIRE(s.turn.permitted(first.ip));
    const auto sent = s.out.count(stun::Method::create_permission);
    s.turn.permit(ninth, s.t0, s.out);  // the table is full
    CHECK(s.turn.counters().permission_failures == 1);
    CHECK(s.out.count(stun::Method::create_permission) == sent);

    s.turn.unpermit(first.ip);
    CHECK_FALSE(s.turn.permitted(first.ip));
    CHECK(s.feed(Scripted::data_indication(Address{first.ip, 4000}, "late"), s.t0).kind ==
          Kind::dropped);
    s.turn.permit(ninth, s.t0, s.out);
    REQUIRE(s.out.count(stun::Method::create_permission) == sent + 1);
    CHECK(s.out.last().xor_address(stun::Attr::xor_peer_address) == ninth);
    s.feed(s.success(), s.t0);
    CHECK(s.turn.permitted(ninth.ip));
    // The given-up IP is not refreshed with the others.
    s.turn.update(s.t0 + 121s, s.out);
    CHECK(s.out.count(stun::Method::create_permission) == sent + 1 + TurnClient::kMaxPermissions);
}

TEST_CASE("peer data: Data indications, then ChannelData on the channel they caused", "[unit]") {
    Scripted s;
    s.allocate();
    s.turn.permit(kPeer, s.t0, s.out);
    s.feed(s.success(), s.t0);
    REQUIRE(s.turn.permitted(kPeer.ip));

    // From an IP without a permission: dropped, and no channel for it.
    CHECK(s.feed(Scripted::data_indication(kStranger, "nope"), s.t0).kind == Kind::dropped);
    CHECK(s.out.count(stun::Method::channel_bind) == 0);

    const Bytes indication = Scripted::data_indication(kPeer, "hello");
    auto r = s.feed(indication, s.t0);
    REQUIRE(r.kind == Kind::peer_data);
    CHECK(string_of(r.payload) == "hello");
    CHECK(r.peer == kPeer);
    CHECK(r.payload.data() >= indication.data());  // a view into the datagram
    CHECK(r.payload.data() < indication.data() + indication.size());

    // The first Data indication from that address binds a channel to it.
    REQUIRE(s.out.count(stun::Method::channel_bind) == 1);
    const auto bind = s.out.last();
    CHECK(bind.channel_number() == 0x4000);
    CHECK(bind.xor_address(stun::Attr::xor_peer_address) == kPeer);
    s.feed(Scripted::data_indication(kPeer, "again"), s.t0);
    CHECK(s.out.count(stun::Method::channel_bind) == 1);
    s.feed(s.success(), s.t0);
    CHECK(s.turn.channel(kPeer) == 0x4000);

    // ChannelData, padded or not: the payload stops before the padding.
    Bytes padded = {0x40, 0x00, 0x00, 0x05, 'w', 'o', 'r', 'l', 'd', 0, 0, 0};
    r = s.feed(padded, s.t0);
    REQUIRE(r.kind == Kind::peer_data);
    CHECK(string_of(r.payload) == "world");
    CHECK(r.peer == kPeer);
    CHECK(r.payload.data() == padded.data() + 4);
    padded.resize(9);
    CHECK(s.feed(padded, s.t0).kind == Kind::peer_data);
    // A channel we never bound, and a malformed one: dropped.
    CHECK(s.feed(Bytes{0x40, 0x01, 0x00, 0x01, 'x'}, s.t0).kind == Kind::dropped);
    CHECK(s.feed(Bytes{0x40, 0x00, 0x00, 0x09, 'x'}, s.t0).kind == Kind::dropped);
    CHECK(s.turn.counters().channel_data == 2);
    CHECK(s.turn.counters().data_indications == 2);

    // The channel is refreshed every 300 s.
    s.turn.update(s.t0 + 299s, s.out);
    CHECK(s.out.count(stun::Method::channel_bind) == 1);
    s.turn.update(s.t0 + 300s, s.out);
    CHECK(s.out.count(stun::Method::channel_bind) == 2);
    CHECK(s.out.last().channel_number() == 0x4000);
}

TEST_CASE("ChannelData is handled without a single heap allocation", "[unit]") {
    Scripted s;
    s.allocate();
    s.turn.permit(kPeer, s.t0, s.out);
    s.feed(s.success(), s.t0);
    s.feed(Scripted::data_indication(kPeer, "hi"), s.t0);
    s.feed(s.success(), s.t0);
    REQUIRE(s.turn.channel(kPeer) == 0x4000);
    const Bytes datagram = {0x40, 0x00, 0x00, 0x06, 'p', 'a', 'y', 'l', 'o', 'a', 'd', 0};
    std::size_t delivered = 0;
    std::size_t allocations = 0;
    {
        const test_support::CountAllocations counting;
        for (int i = 0; i < 1000; ++i)
            delivered += s.turn.handle(datagram, s.t0, s.out).kind == Kind::peer_data;
        allocations = counting.count();
    }
    CHECK(delivered == 1000);
    CHECK(allocations == 0);
    {  // the counter does count
        const test_support::CountAllocations counting;
        const auto boxed = std::make_unique<int>(1);
        CHECK(counting.count() == 1);
    }
}

TEST_CASE("437 to an Allocate is tried again after a second, 3 times, then fails", "[unit]") {
    Scripted s;
    s.turn.start(kServer, {"1700000000:alice", "secret"}, s.t0, s.out);
    s.feed(error(s.out.last(), 401, "Unauthorized"), s.t0);
    for (int i = 1; i <= TurnClient::kMaxMismatches; ++i) {
        const auto before = s.out.sent.size();
        const auto id = s.out.last().transaction();
        const TimePoint at = s.t0 + Duration(2000 * i);
        s.feed(error(s.out.last(), 437, "Allocation Mismatch"), at);
        CHECK(s.turn.state() == TurnClient::State::allocating);
        s.turn.update(at + 999ms, s.out);
        CHECK(s.out.sent.size() == before);  // waits a second
        s.turn.update(at + 1000ms, s.out);
        REQUIRE(s.out.sent.size() == before + 1);
        CHECK(s.out.last().method() == stun::Method::allocate);
        CHECK(s.out.last().transaction() != id);
        CHECK(s.out.last().check_integrity(s.key));
    }
    s.feed(error(s.out.last(), 437, "Allocation Mismatch"), s.t0 + 10s);
    CHECK(s.turn.state() == TurnClient::State::failed);
    CHECK(s.turn.error() ==
          "TURN server 198.51.100.1:3478 answered Allocate with 437 Allocation Mismatch");
}

TEST_CASE("wrap sends Send indications until the channel is bound, then ChannelData", "[unit]") {
    Scripted s;
    s.allocate();
    std::array<std::uint8_t, 1500> buffer{};
    const Bytes payload = bytes_of("ping");
    CHECK(s.turn.wrap(kPeer, payload, buffer) == 0);  // no permission yet
    s.turn.permit(kPeer, s.t0, s.out);
    s.feed(s.success(), s.t0);

    std::size_t n = s.turn.wrap(kPeer, payload, buffer);
    REQUIRE(n > 0);
    stun::Message m;
    REQUIRE(stun::parse(std::span(buffer.data(), n), m) == stun::ParseError::ok);
    CHECK(m.method() == stun::Method::send);
    CHECK(m.cls() == stun::Class::indication);
    CHECK(m.xor_address(stun::Attr::xor_peer_address) == kPeer);
    CHECK(m.text(stun::Attr::data) == "ping");

    s.feed(Scripted::data_indication(kPeer, "hi"), s.t0);
    s.feed(s.success(), s.t0);  // the ChannelBind
    n = s.turn.wrap(kPeer, payload, buffer);
    REQUIRE(n == 8);
    CHECK(Bytes(buffer.begin(), buffer.begin() + 8) ==
          Bytes{0x40, 0x00, 0x00, 0x04, 'p', 'i', 'n', 'g'});
    CHECK(s.turn.wrap(kPeer, payload, std::span(buffer.data(), 7)) == 0);
}

TEST_CASE("release sends Refresh with lifetime 0 and is released at once", "[unit]") {
    Scripted s;
    s.allocate();
    s.turn.release(s.out);
    CHECK(s.turn.state() == TurnClient::State::released);
    const auto m = s.out.last();
    CHECK(m.method() == stun::Method::refresh);
    CHECK(m.u32(stun::Attr::lifetime) == 0u);
    CHECK(m.check_integrity(s.key));
    CHECK_FALSE(s.turn.release_confirmed());
    CHECK(
        s.feed(s.success([](stun::Writer& w) { w.add_u32(stun::Attr::lifetime, 0); }), s.t0).kind ==
        Kind::consumed);
    CHECK(s.turn.release_confirmed());
    CHECK(s.feed(Scripted::data_indication(kPeer, "late"), s.t0).kind == Kind::dropped);
    const auto sent = s.out.sent.size();
    s.turn.update(s.t0 + 1h, s.out);
    CHECK(s.out.sent.size() == sent);
}

// ==== The player's allocation (Relay) against scripted servers ===============================

namespace {

const Address kServer2{0xC6336402u, 3478};    // 198.51.100.2: the grant's second server
const Address kRelayed2{0xCB007103u, 50001};  // the allocation made anew
constexpr std::string_view kRelayUser = "4000000000:alice.00112233aabbccdd";  // far from expiry

struct ScriptedRelay {
    detail::Relay relay;
    Recorder out;
    Config config;
    detail::RendezvousClient rendezvous{config, 1, {}};
    TimePoint now{};
    stun::IntegrityKey key = stun::IntegrityKey::long_term(kRelayUser, kRealm, "secret");
    detail::Relay::Use use;

    ScriptedRelay() {
        use.relayed = true;
        use.renew = true;
        use.silence = Duration(1200);
        protocol::RelayGrant grant;
        grant.servers = {kServer, kServer2};
        grant.count = 2;
        grant.username = kRelayUser;
        grant.password = "secret";
        relay.start(grant, 7, "bob", now, out);
        relay.want_permit(kPeer.ip);
    }
    detail::Relay::Received feed(const Bytes& datagram, Address from) {
        return relay.handle(datagram, from, now, out);
    }
    void step(Duration by) {
        now += by;
        relay.update(now, use, rendezvous, out);
    }
    // The 401 and a successful Allocate from `server`, granting `relayed`.
    void allocate(Address server, Address relayed) {
        REQUIRE(out.last().method() == stun::Method::allocate);
        REQUIRE(out.sent.back().to == server);
        REQUIRE(feed(error(out.last(), 401, "Unauthorized"), server).kind ==
                detail::Relay::Received::Kind::consumed);
        REQUIRE(feed(answer(
                         out.last(), stun::Class::success,
                         [&](stun::Writer& w) {
                             w.add_xor_address(stun::Attr::xor_relayed_address, relayed);
                             w.add_xor_address(stun::Attr::xor_mapped_address, kMapped);
                             w.add_u32(stun::Attr::lifetime, 600);
                         },
                         &key),
                     server)
                    .kind == detail::Relay::Received::Kind::consumed);
        REQUIRE(relay.allocated());
        REQUIRE(relay.relayed() == relayed);
    }
    // Answers the last CreatePermission sent to `server` (one unanswered would fail the client).
    void permit(Address server) {
        for (auto it = out.sent.rbegin(); it != out.sent.rend(); ++it) {
            stun::Message m;
            if (it->to != server || stun::parse(it->bytes, m) != stun::ParseError::ok ||
                m.method() != stun::Method::create_permission)
                continue;
            REQUIRE(feed(answer(
                             m, stun::Class::success, [](stun::Writer&) {}, &key),
                         server)
                        .kind == detail::Relay::Received::Kind::consumed);
            return;
        }
        FAIL("no CreatePermission to " << server.to_string());
    }
    // The CreatePermission requests for kPeer sent to `server` since datagram `from`.
    [[nodiscard]] std::size_t permissions_sent(Address server, std::size_t from) const {
        std::size_t n = 0;
        for (std::size_t i = from; i < out.sent.size(); ++i) {
            stun::Message m;
            n += out.sent[i].to == server &&
                 stun::parse(out.sent[i].bytes, m) == stun::ParseError::ok &&
                 m.method() == stun::Method::create_permission &&
                 m.xor_address(stun::Attr::xor_peer_address).value_or(Address{}).ip == kPeer.ip;
        }
        return n;
    }
};

}  // namespace

TEST_CASE(
    "a relayed allocation is checked when its peers fall silent, made anew on the same server "
    "after a 437, and on the grant's next server when the check goes unanswered",
    "[unit]") {
    ScriptedRelay r;
    r.step(Duration(10));
    r.allocate(kServer, kRelayed);
    r.step(Duration(10));
    CHECK(r.permissions_sent(kServer, 0) == 1);
    r.permit(kServer);
    CHECK(r.relay.allocation() == 1);

    // The peer is heard through it: no check. (Its ChannelBind goes unanswered: in 3 s that
    // is no failure yet.)
    for (int i = 0; i < 6; ++i) {
        REQUIRE(r.feed(Scripted::data_indication(kPeer, "ping"), kServer).kind ==
                detail::Relay::Received::Kind::peer_data);
        r.step(Duration(500));
    }
    CHECK(r.out.count(stun::Method::refresh) == 0);

    // Silent for path_silence: a Refresh at once, answered 437 (the server restarted and lost
    // the allocation). A new Allocate to the same server follows, and the permission again.
    r.step(Duration(699));  // 1199 ms since the last datagram from the peer
    CHECK(r.out.count(stun::Method::refresh) == 0);
    r.step(Duration(1));
    REQUIRE(r.out.count(stun::Method::refresh) == 1);
    CHECK(r.out.sent.back().to == kServer);
    CHECK(r.out.last().check_integrity(r.key));
    r.feed(error(r.out.last(), 437, "Allocation Mismatch"), kServer);
    r.step(Duration(1));
    CHECK(r.relay.reallocations() == 1);
    CHECK(r.relay.allocation() == 2);
    const std::size_t before = r.out.sent.size();
    r.allocate(kServer, kRelayed2);
    r.step(Duration(1));
    CHECK(r.permissions_sent(kServer, before) == 1);
    r.permit(kServer);
    CHECK(r.relay.server() == kServer);

    // Silent again, and this time the check goes unanswered (the server is down): after its
    // sends at 0, 0.25 and 0.75 s, the grant's next server, and the old one is released.
    r.step(Duration(1200));
    REQUIRE(r.out.last().method() == stun::Method::refresh);
    const std::size_t checked = r.out.sent.size();
    for (int i = 0; i < 99; ++i) r.step(Duration(10));
    CHECK(r.relay.server() == kServer);
    r.step(Duration(10));
    CHECK(r.relay.server() == kServer2);
    CHECK(r.relay.reallocations() == 2);
    // The first check; the second, sent 3 times; the old allocation's release.
    CHECK(r.out.count(stun::Method::refresh) == 1 + 3 + 1);
    bool released = false;
    for (std::size_t i = checked; i < r.out.sent.size(); ++i) {
        stun::Message m;
        if (r.out.sent[i].to == kServer &&
            stun::parse(r.out.sent[i].bytes, m) == stun::ParseError::ok &&
            m.method() == stun::Method::refresh && m.u32(stun::Attr::lifetime) == 0u)
            released = true;
    }
    CHECK(released);
    r.allocate(kServer2, kRelayed);
    r.step(Duration(1));
    CHECK(r.permissions_sent(kServer2, 0) == 1);
    CHECK(r.relay.allocation() == 3);
}

TEST_CASE(
    "an allocation that no connection uses is not checked, and one held on standby is checked "
    "after two standby intervals of silence",
    "[unit]") {
    ScriptedRelay r;
    r.use.relayed = false;  // nobody relays through it, nor holds it on standby
    r.use.renew = false;
    r.step(Duration(10));
    r.allocate(kServer, kRelayed);
    r.step(Duration(1000));  // up, as of now
    r.permit(kServer);
    for (int i = 0; i < 8; ++i) r.step(Duration(1000));
    CHECK(r.out.count(stun::Method::refresh) == 0);
    CHECK(r.relay.reallocations() == 0);

    // Held on standby (connected directly: the peer's standby probes come through it every
    // 5 s), checked after two standby intervals of silence, not after path_silence.
    r.use.standby = true;
    r.use.standby_silence = Duration(10000);
    r.step(Duration(1999));  // 9999 ms after it came up
    CHECK(r.out.count(stun::Method::refresh) == 0);
    r.step(Duration(1));
    CHECK(r.out.count(stun::Method::refresh) == 1);
    CHECK(r.out.sent.back().to == kServer);
}

// ==== Against a real coturn on 127.0.0.1 =====================================================

namespace {

using coturn_test::Coturn;
using coturn_test::require_turnserver;
using coturn_test::UdpSocket;

constexpr std::string_view kSecret = "netcore-test-secret";

// TURN REST credentials (coturn's --use-auth-secret): username "<expiry>:<name>", password
// base64(HMAC-SHA1(secret, username)).
detail::TurnCredentials rest_credentials(std::string_view name, std::chrono::seconds ttl,
                                         std::string_view secret = kSecret) {
    const auto expiry = static_cast<long long>(std::time(nullptr)) + ttl.count();
    std::string username = std::to_string(expiry) + ":" + std::string(name);
    hmac_sha1_ctx ctx{};
    hmac_sha1_set_key(&ctx, secret.size(), reinterpret_cast<const std::uint8_t*>(secret.data()));
    hmac_sha1_update(&ctx, username.size(), reinterpret_cast<const std::uint8_t*>(username.data()));
    std::array<std::uint8_t, SHA1_DIGEST_SIZE> mac{};
    hmac_sha1_digest(&ctx, mac.size(), mac.data());
    std::string password(BASE64_ENCODE_RAW_LENGTH(mac.size()), '\0');
    base64_encode_raw(password.data(), mac.size(), mac.data());
    return {username, password};
}

// The session's side: one UDP socket and the TURN client on it, polled in a loop.
class Client final : public detail::RawOutbox {
  public:
    struct Delivery {
        Address peer;
        std::string payload;
        bool channel = false;  // came as ChannelData (else a Data indication)
    };

    Client() : socket_({0x7F000001u, 0}) {}

    void send_raw(Address to, std::span<const std::uint8_t> b) override { socket_.send_to(to, b); }

    /// Receives what is pending, hands the server's datagrams to the client, then update().
    void pump(TimePoint now) {
        Address from;
        while (const auto n = socket_.receive(buffer_, from)) {
            if (!turn.is_server(from)) continue;
            const std::span<const std::uint8_t> datagram(buffer_.data(), *n);
            stun::Message m;
            if (stun::parse(datagram, m) == stun::ParseError::ok && m.has_integrity())
                ++(m.cls() == stun::Class::success ? signed_successes : signed_errors);
            const auto r = turn.handle(datagram, now, *this);
            if (r.kind == Kind::peer_data)
                delivered.push_back({r.peer, string_of(r.payload), (buffer_[0] & 0xC0) == 0x40});
        }
        turn.update(now, *this);
    }

    /// Sends `payload` to `peer` through the relay (wrap, then to the server).
    bool send_to_peer(Address peer, std::string_view payload) {
        std::array<std::uint8_t, 1500> out{};
        const auto n = turn.wrap(peer, bytes_of(payload), out);
        if (n == 0) return false;
        send_raw(turn.server(), std::span(out.data(), n));
        return true;
    }

    TurnClient turn;
    std::vector<Delivery> delivered;
    std::size_t signed_successes = 0;  // answers from the server carrying MESSAGE-INTEGRITY
    std::size_t signed_errors = 0;

  private:
    UdpSocket socket_;
    std::array<std::uint8_t, 2048> buffer_{};
};

// Polls `client` (and `also`, once a loop) every millisecond until `done` or `limit`.
bool run_until(Client& client, const std::function<bool()>& done, Duration limit,
               const std::function<void()>& also = {}) {
    const auto deadline = Clock::now() + limit;
    while (!done()) {
        if (Clock::now() > deadline) return false;
        client.pump(Clock::now());
        if (also) also();
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

bool allocated(const Client& c) {
    return c.turn.state() == TurnClient::State::allocated;
}

bool settled(const Client& c) {
    return c.turn.state() != TurnClient::State::allocating;
}

// start() on `coturn`, then polls until the Allocate is answered, whichever way.
void settle(Client& client, const Coturn& coturn, detail::TurnCredentials credentials,
            Duration limit = 5s) {
    client.turn.start(coturn.address(), std::move(credentials), Clock::now(), client);
    REQUIRE(run_until(
        client, [&] { return settled(client); }, limit));
}

// settle(), and the allocation must be up.
void allocate(Client& client, const Coturn& coturn,
              detail::TurnCredentials credentials = rest_credentials("alice", 1h)) {
    settle(client, coturn, std::move(credentials));
    INFO(client.turn.error() << "\n" << coturn.tail());
    REQUIRE(allocated(client));
}

const Address kPeerA{0x7F000002u, 0};  // 127.0.0.2: the peer we permit
const Address kPeerB{0x7F000003u, 0};  // 127.0.0.3: a stranger

// Receives what `peer` got, as strings, from one source.
std::vector<std::string> drain(const UdpSocket& peer, Address expected_from) {
    std::vector<std::string> got;
    std::array<std::uint8_t, 2048> buffer{};
    Address from;
    while (const auto n = peer.receive(buffer, from))
        if (from == expected_from)
            got.emplace_back(buffer.begin(), buffer.begin() + static_cast<long>(*n));
    return got;
}

}  // namespace

TEST_CASE("coturn: TURN REST credentials allocate a relayed address on 127.0.0.1", "[coturn]") {
    Coturn coturn({});
    Client client;
    allocate(client, coturn);
    CHECK(client.turn.relayed().ip == 0x7F000001u);
    CHECK(client.turn.relayed().port >= coturn.relay_min());
    CHECK(client.turn.relayed().port <= coturn.relay_max());
    CHECK(client.turn.mapped().ip == 0x7F000001u);
    CHECK(client.turn.mapped().port != 0);
    CHECK(client.turn.lifetime() > Duration(0));
    // The unauthenticated Allocate, then the signed one; nothing dropped.
    CHECK(client.turn.counters().requests_sent == 2);
    CHECK(client.turn.counters().dropped == 0);
    // coturn signs its success answer, and the signature verified.
    CHECK(client.signed_successes == 1);
    CHECK(client.turn.counters().integrity_failures == 0);
}

TEST_CASE("coturn: a wrong password fails with a sentence naming the server and 401", "[coturn]") {
    Coturn coturn({});
    Client client;
    auto credentials = rest_credentials("alice", 1h);
    credentials.password = rest_credentials("alice", 1h, "not-the-secret").password;
    settle(client, coturn, credentials);
    INFO(coturn.tail());
    CHECK(client.turn.state() == TurnClient::State::failed);
    CHECK(client.turn.error_code() == 401);
    CHECK(client.turn.error().rfind(
              "TURN server " + coturn.address().to_string() + " refused the credentials (401", 0) ==
          0);
}

TEST_CASE(
    "coturn: a permitted peer reaches us in Data indications, then ChannelData, and a "
    "stranger does not",
    "[coturn]") {
    Coturn coturn({});
    Client client;
    allocate(client, coturn);
    const Address relayed = client.turn.relayed();

    UdpSocket peer(kPeerA);
    UdpSocket stranger(kPeerB);
    client.turn.permit(peer.local(), Clock::now(), client);
    REQUIRE(run_until(
        client, [&] { return client.turn.permitted(peer.local().ip); }, 5s));
    CHECK_FALSE(client.turn.permitted(stranger.local().ip));

    // The stranger's datagrams go nowhere: coturn drops them, and so would we.
    for (int i = 0; i < 3; ++i) stranger.send_to(relayed, bytes_of("let me in"));
    peer.send_to(relayed, bytes_of("first"));
    REQUIRE(run_until(
        client, [&] { return !client.delivered.empty(); }, 5s));
    CHECK(client.delivered[0].payload == "first");
    CHECK(client.delivered[0].peer == peer.local());
    CHECK_FALSE(client.delivered[0].channel);  // a Data indication

    // That indication made the client bind a channel to the peer; the rest comes as ChannelData.
    REQUIRE(run_until(
        client, [&] { return client.turn.channel(peer.local()) != 0; }, 5s));
    peer.send_to(relayed, bytes_of("second, odd length"));
    REQUIRE(run_until(
        client, [&] { return client.delivered.size() >= 2; }, 5s));
    CHECK(client.delivered[1].payload == "second, odd length");
    CHECK(client.delivered[1].peer == peer.local());
    CHECK(client.delivered[1].channel);
    for (int i = 0; i < 3; ++i) stranger.send_to(relayed, bytes_of("let me in"));
    client.delivered.clear();
    peer.send_to(relayed, bytes_of("third"));
    REQUIRE(run_until(
        client, [&] { return !client.delivered.empty(); }, 5s));
    std::this_thread::sleep_for(100ms);
    client.pump(Clock::now());
    REQUIRE(client.delivered.size() == 1);  // nothing from the stranger
    CHECK(client.delivered[0].payload == "third");
    CHECK(client.turn.counters().channel_data >= 1);
    CHECK(client.turn.counters().dropped == 0);

    // The other way: wrap() frames for the relay, which sends from the relayed address.
    REQUIRE(client.send_to_peer(peer.local(), "back at you"));
    std::vector<std::string> got;
    REQUIRE(run_until(
        client, [&] { return !got.empty(); }, 5s,
        [&] {
            auto more = drain(peer, relayed);
            got.insert(got.end(), more.begin(), more.end());
        }));
    CHECK(got[0] == "back at you");
}

TEST_CASE("coturn: refreshes keep the allocation past its lifetime, through stale nonces",
          "[coturn]") {
    // Allocations of 6 s and nonces of 2 s: the refresh at 3 s meets a stale nonce (438) first.
    Coturn coturn({.max_allocate_lifetime = 6, .stale_nonce = 2});
    Client client;
    allocate(client, coturn);
    CHECK(client.turn.lifetime() == 6s);
    UdpSocket peer(kPeerA);
    client.turn.permit(peer.local(), Clock::now(), client);

    // 8 s: past the first lifetime.
    run_until(
        client, [] { return false; }, 8s);
    INFO(client.turn.error());
    REQUIRE(allocated(client));
    CHECK(client.turn.counters().refreshes >= 1);
    CHECK(client.turn.counters().stale_nonces >= 1);
    CHECK(client.signed_errors == 0);  // coturn does not sign its 438s
    // coturn 4.6 raises a Refresh's lifetime to its 600 s minimum, whatever was asked and
    // whatever --max-allocate-lifetime says (only the Allocate is capped by it).
    CHECK(client.turn.lifetime() == 600s);

    // Still relaying.
    peer.send_to(client.turn.relayed(), bytes_of("still there"));
    REQUIRE(run_until(
        client, [&] { return !client.delivered.empty(); }, 5s));
    CHECK(client.delivered[0].payload == "still there");
}

TEST_CASE(
    "coturn: a TURN REST username that expires does not end a live allocation, but "
    "cannot start one",
    "[coturn]") {
    // The username expires 1-2 s from now; allocations of 6 s and nonces of 2 s, so the
    // refresh at 3 s comes after the expiry and with a new nonce (438 first).
    Coturn coturn({.max_allocate_lifetime = 6, .stale_nonce = 2});
    Client client;
    const auto credentials = rest_credentials("alice", 2s);
    allocate(client, coturn, credentials);
    UdpSocket peer(kPeerA);
    client.turn.permit(peer.local(), Clock::now(), client);
    run_until(
        client, [] { return false; }, 4s);
    INFO(client.turn.error() << "\n" << coturn.tail());
    // coturn checked the timestamp once, at the Allocate: the Refresh after the expiry, even
    // signed with a new nonce, succeeds, and so does a CreatePermission.
    REQUIRE(allocated(client));
    CHECK(client.turn.counters().refreshes >= 1);
    CHECK(client.turn.counters().stale_nonces >= 1);
    UdpSocket late_peer(kPeerB);
    client.turn.permit(late_peer.local(), Clock::now(), client);
    REQUIRE(run_until(
        client, [&] { return client.turn.permitted(late_peer.local().ip); }, 5s));
    late_peer.send_to(client.turn.relayed(), bytes_of("after expiry"));
    REQUIRE(run_until(
        client, [&] { return !client.delivered.empty(); }, 5s));
    CHECK(client.delivered[0].payload == "after expiry");

    // The same, now expired, username cannot allocate anew.
    Client other;
    settle(other, coturn, credentials);
    CHECK(other.turn.state() == TurnClient::State::failed);
    CHECK(other.turn.error_code() == 401);
}

TEST_CASE("coturn: release frees the allocation: the server confirms and relays no more",
          "[coturn]") {
    Coturn coturn({});
    Client client;
    allocate(client, coturn);
    const Address relayed = client.turn.relayed();
    UdpSocket peer(kPeerA);
    client.turn.permit(peer.local(), Clock::now(), client);
    REQUIRE(run_until(
        client, [&] { return client.turn.permitted(peer.local().ip); }, 5s));

    client.turn.release(client);
    CHECK(client.turn.state() == TurnClient::State::released);
    REQUIRE(run_until(
        client, [&] { return client.turn.release_confirmed(); }, 5s));

    // The relayed port is closed: a datagram to it reaches nobody.
    peer.send_to(relayed, bytes_of("anyone?"));
    run_until(
        client, [] { return false; }, 300ms);
    CHECK(client.delivered.empty());

    // A new allocation from the same 5-tuple: coturn answers 437 for about a second after a
    // release, and the client waits and tries again.
    settle(client, coturn, rest_credentials("alice", 1h), 8s);
    INFO(client.turn.error());
    CHECK(allocated(client));
}
